"""The about and privacy pages, and the privacy page's words against what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from accounts import outbox
from beebeta import analytics, time_zones

ROOT = Path(__file__).resolve().parent.parent
# An event name passed to analytics.track or track_question: "Vote Withdrawn".
_EVENT = re.compile(r'track(?:_question)?\(\s*[\w.]+,\s*"([A-Z][a-z]+(?: [A-Z][a-z]+)+)"')


def sent_events() -> set[str]:
    found = set(analytics.CAMPAIGNS)
    for folder in ("accounts", "beebeta", "polls"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(_EVENT.findall(path.read_text()))
    return found


def test_the_about_page_says_what_beebeta_is_and_links_the_rest(client, db):
    html = client.get("/about/").content.decode()
    assert "<h1>About Beebeta</h1>" in html
    for link in ('href="/privacy/"', 'href="/data/"', 'href="/feeds/new/"'):
        assert link in html


def test_the_privacy_page_names_every_analytics_event_the_code_sends(client, db):
    events = sent_events()
    assert {"Vote Withdrawn", "Page Viewed", "Share Link Copied"} <= events
    html = client.get("/privacy/").content.decode()
    missing = [event for event in sorted(events) if event not in html]
    assert not missing, f"the privacy page does not mention {missing}"


def test_the_privacy_page_names_every_cookie_and_its_figures(client, db):
    html = client.get("/privacy/").content.decode()
    for cookie in (
        settings.SESSION_COOKIE_NAME,
        settings.CSRF_COOKIE_NAME,
        time_zones.COOKIE,
        analytics.COOKIE_NAME,
        "messages",
    ):
        assert f"<code>{cookie}</code>" in html, cookie
    assert settings.SESSION_COOKIE_AGE == 14 * 24 * 3600 and "after 2 weeks" in html
    assert settings.CSRF_COOKIE_AGE == 52 * 7 * 24 * 3600
    assert analytics.COOKIE_MAX_AGE == time_zones.COOKIE_SECONDS == 365 * 24 * 3600
    assert outbox.KEEP_SENT.days == 7 and "removed 7 days after" in html
    assert f"after {settings.HELD_VOTE_HOURS} hours" in html
    assert f"after {settings.AXES_FAILURE_LIMIT} failures" in html
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"refused for {minutes} minutes" in html


def test_the_privacy_page_says_whether_analytics_and_error_reports_are_on(client, settings, db):
    settings.MIXPANEL_TOKEN = ""
    settings.SENTRY_DSN = ""
    off = client.get("/privacy/").content.decode()
    assert "sends no analytics right now" in off and "not reported anywhere right now" in off
    # Events from this page view go to a port where nothing listens.
    settings.MIXPANEL_EVENTS_URL = "http://127.0.0.1:9/track"
    settings.MIXPANEL_TOKEN = "token"
    settings.SENTRY_DSN = "http://key@127.0.0.1:9/1"
    on = client.get("/privacy/").content.decode()
    assert "This site sends usage events to Mixpanel." in on
    assert "Errors are reported to Sentry" in on


def test_every_page_links_about_privacy_and_the_data(client, db):
    html = client.get("/").content.decode()
    footer = html[html.index('<footer class="site-footer">') :]
    for link in ('href="/about/"', 'href="/privacy/"', 'href="/data/"'):
        assert link in footer
