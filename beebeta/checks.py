"""Production invariants that are easy to get wrong, as Django system checks.

They run with every management command that checks (``check``, ``migrate``...), so an
instance whose environment breaks one stops at provisioning instead of serving. Each is an
error: none of them is ever right in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.filebased.FileBasedCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register("beebeta")
def check_https_behind_proxies(**kwargs: Any) -> list[CheckMessage]:
    if settings.HTTPS and not settings.TRUSTED_PROXIES:
        return [
            Error(
                "HTTPS is on but TRUSTED_PROXIES is empty.",
                hint=(
                    "Behind the load balancer every request comes from nginx: without "
                    "TRUSTED_PROXIES (nginx: 127.0.0.1) every client shares one address, and one "
                    "person's failed logins lock everybody out. Set TRUSTED_PROXIES."
                ),
                id="beebeta.E001",
            )
        ]
    return []


@register("beebeta")
def check_shared_services_under_https(**kwargs: Any) -> list[CheckMessage]:
    if not settings.HTTPS:
        return []
    errors: list[CheckMessage] = []
    for alias, database in settings.DATABASES.items():
        if database["ENGINE"] == "django.db.backends.sqlite3":
            errors.append(
                Error(
                    f"HTTPS is on with the embedded SQLite database ({alias}).",
                    hint="Production keeps the votes in MySQL: set DATABASE_URL.",
                    id="beebeta.E002",
                )
            )
    caches = cast(Mapping[str, Mapping[str, Any]], settings.CACHES)
    if caches["default"]["BACKEND"] in LOCAL_CACHES:
        errors.append(
            Error(
                "HTTPS is on with a cache local to each process.",
                hint=(
                    "Every process would keep its own counts, sessions and limits, and a vote "
                    "would not clear the others' copies: set MEMCACHED_LOCATIONS."
                ),
                id="beebeta.E003",
            )
        )
    return errors


@register("beebeta")
def check_debug_toolbar(**kwargs: Any) -> list[CheckMessage]:
    if "debug_toolbar" in settings.INSTALLED_APPS and not settings.DEBUG:
        return [
            Error(
                "The debug toolbar is installed with DEBUG off.",
                hint="It is for `make dev` (DEBUG=true DEBUG_TOOLBAR=true) only.",
                id="beebeta.E004",
            )
        ]
    return []


def same_database(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Whether two DATABASES entries name the same database on the same server."""

    def server(database: Mapping[str, Any]) -> tuple[str, str, str]:
        host = str(database.get("HOST") or "localhost").lower()
        return host, str(database.get("PORT") or "3306"), str(database.get("NAME"))

    return server(one) == server(other)


@register("beebeta")
def check_replica_is_not_the_primary(**kwargs: Any) -> list[CheckMessage]:
    replica = settings.DATABASES.get("replica")
    if replica is not None and same_database(replica, settings.DATABASES["default"]):
        return [
            Error(
                "DATABASE_REPLICA_URL names the primary itself.",
                hint=(
                    "Give the replica's own endpoint (the stack's DatabaseReplicaEndpoint "
                    "output), or leave DATABASE_REPLICA_URL empty."
                ),
                id="beebeta.E005",
            )
        ]
    return []
