"""The Content-Security-Policy: nothing inline anywhere, checked in the templates, in the
settings each mode builds, and in real Chromium on the pages people use, the admin included."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.security.test_headers import assert_strict_csp, directives

ROOT = Path(__file__).resolve().parents[2]
INLINE = {
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an inline <style> block": re.compile(r"<style[\s>]", re.I),
    "an inline <script> block": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize("template", sorted((ROOT / "templates").rglob("*.html")), ids=str)
def test_templates_have_nothing_inline(template):
    text = template.read_text()
    for what, pattern in INLINE.items():
        assert not pattern.search(text), f"{template.relative_to(ROOT)} has {what}"


def test_the_policy_allows_nothing_unsafe():
    policy = django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert "unsafe" not in json.dumps(policy)
    assert policy["default-src"] == ["'self'"]


def policy_under(tmp_path, **env: str) -> dict[str, list[str]]:
    """The policy a fresh process builds from these environment variables."""
    code = (
        "from django.conf import settings; from csp.utils import build_policy; "
        "print(build_policy(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']))"
    )
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "beebeta.settings"}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**base, "DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return directives(result.stdout.strip())


def test_https_upgrades_requests_and_names_the_cdn_over_https(tmp_path):
    cdn = {"AWS_STORAGE_BUCKET_NAME": "media", "AWS_S3_CUSTOM_DOMAIN": "cdn.example.org"}
    plain = policy_under(tmp_path, **cdn, AWS_S3_URL_PROTOCOL="http:")
    assert plain["img-src"] == ["'self'", "http://cdn.example.org"]
    assert "upgrade-insecure-requests" not in plain
    production = policy_under(tmp_path, **cdn, HTTPS="true")
    assert production["img-src"] == ["'self'", "https://cdn.example.org"]
    assert "upgrade-insecure-requests" in production
    assert_strict_csp("; ".join(" ".join([k, *v]) for k, v in production.items()))


def test_only_the_debug_toolbar_of_make_dev_relaxes_the_policy(tmp_path):
    assert "unsafe" not in json.dumps(policy_under(tmp_path, DEBUG="true"))
    relaxed = policy_under(tmp_path, DEBUG="true", DEBUG_TOOLBAR="true")
    assert "'unsafe-inline'" in relaxed["script-src"]


# --- Real Chromium: zero violations ------------------------------------------------------------


def violations(driver) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
        or "Content-Security-Policy" in entry["message"]
    ]


def log_in(driver, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    driver.get(f"{live_server.url}/healthz")
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    driver.add_cookie({"name": cookie.key, "value": cookie.value, "path": "/"})


def visit(driver, url: str) -> list[str]:
    driver.get(url)
    # Deferred scripts and stylesheets have run once the load event has fired.
    driver.execute_script("return document.readyState")
    return violations(driver)


def test_chromium_reports_no_violation_on_site_and_admin_pages(
    console_browser, live_server, question, alice, staff
):
    driver = console_browser
    pages = ["/", question.get_absolute_url(), "/search/?q=ramen", "/accounts/login/"]
    for page in pages:
        assert visit(driver, live_server.url + page) == [], page
    log_in(driver, live_server, alice)
    for page in ("/ask/", question.get_absolute_url(), f"/q/{question.slug}/report/"):
        assert visit(driver, live_server.url + page) == [], page
    driver.delete_all_cookies()
    log_in(driver, live_server, staff)
    admin_pages = [
        "/admin/",
        "/admin/polls/question/",
        "/admin/polls/question/add/",
        f"/admin/polls/question/{question.pk}/change/",
        "/admin/auth/user/",
        "/insights/",
    ]
    for page in admin_pages:
        assert visit(driver, live_server.url + page) == [], page
        assert "Page not found" not in driver.title, page


def test_chromium_does_report_a_violation_when_there_is_one(console_browser, live_server, db):
    # The check above would pass vacuously if the console log were not collected.
    driver = console_browser
    driver.get(live_server.url + "/")
    driver.execute_script(
        "document.body.insertAdjacentHTML('beforeend', '<p style=\"color:red\">x</p>')"
    )
    assert violations(driver), "an inline style attribute went unreported"
