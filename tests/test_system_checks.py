"""Beebeta's system checks (beebeta/checks.py): production invariants that are easy to get
wrong stop every management command that checks, with a message saying what to set."""

from __future__ import annotations

from django.core.management import call_command

from beebeta import checks
from tests.test_production_settings import manage, production_env

MEMCACHED = {"default": {"BACKEND": "beebeta.cache.PersistentPyMemcacheCache", "LOCATION": "x"}}


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_production_environment_passes_every_check(settings):
    settings.HTTPS = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.CACHES = MEMCACHED
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.mysql"
    call_command("check", "--tag", "beebeta")


def test_https_without_trusted_proxies(settings):
    settings.HTTPS = True
    settings.TRUSTED_PROXIES = []
    assert ids(checks.check_https_behind_proxies()) == ["beebeta.E001"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert checks.check_https_behind_proxies() == []
    settings.HTTPS = False
    settings.TRUSTED_PROXIES = []
    assert checks.check_https_behind_proxies() == []


def test_embedded_cache_under_https(settings):
    settings.HTTPS = True
    settings.CACHES = MEMCACHED
    assert checks.check_shared_services_under_https() == []
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ids(checks.check_shared_services_under_https()) == ["beebeta.E003"]
    settings.HTTPS = False
    assert checks.check_shared_services_under_https() == []


def test_debug_toolbar_outside_debug(settings):
    settings.DEBUG = False
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "debug_toolbar"]
    assert ids(checks.check_debug_toolbar()) == ["beebeta.E004"]
    settings.DEBUG = True
    assert checks.check_debug_toolbar() == []


def test_replica_equal_to_the_primary():
    primary = {"ENGINE": "django.db.backends.mysql", "HOST": "db.internal", "PORT": 3306}
    primary["NAME"] = "beebeta"
    assert checks.same_database(primary, {**primary, "HOST": "DB.internal", "PORT": ""})
    assert not checks.same_database(primary, {**primary, "HOST": "db-replica.internal"})
    assert not checks.same_database(primary, {**primary, "PORT": 3307})


def test_a_broken_invariant_stops_management_commands(tmp_path):
    env = production_env(tmp_path)
    env["TRUSTED_PROXIES"] = ""
    env["DATABASE_REPLICA_URL"] = env["DATABASE_URL"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "beebeta.E001" in result.stderr and "beebeta.E005" in result.stderr
    # The embedded default under HTTPS: SQLite and a cache in each process.
    embedded = {name: env[name] for name in ("PATH", "HOME", "DATA_DIR", "SECRET_KEY_FILE")}
    result = manage({**embedded, "HTTPS": "true", "TRUSTED_PROXIES": "127.0.0.1"}, "migrate")
    assert result.returncode != 0
    assert "beebeta.E002" in result.stderr and "beebeta.E003" in result.stderr
