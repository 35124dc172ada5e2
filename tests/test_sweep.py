"""Every page of the route table, as every role, in real Chromium at 360 px and 1280 px: no page
scrolls sideways (the phone menu open or closed) and axe-core finds nothing critical or serious.

The pages are tests/routes.py's, with tests/site_data.py's content (a 200-character title, long
unbroken words, pictures with their descriptions), plus the 404 page and, for staff, the
moderation queue. One Chromium and one live server serve the whole sweep; each role logs in
once. Each page is loaded once and measured at both widths (the window is resized, alternately
from 360 to 1280 and back). axe-core comes from npm at a pinned version (tests/npm.py).

Screenshots of the home, question, ask and insights pages at both widths go to
test-output/screenshots/.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from polls import images
from tests.conftest import ROOT, start_chromium
from tests.npm import installed
from tests.polls import upload_corpus as corpus
from tests.routes import ANONYMOUS, MEMBER, STAFF, Visit, page_visits
from tests.site_data import build_site

pytestmark = pytest.mark.django_db(transaction=True)

AXE_VERSION = "4.14.1"
WIDTHS = (360, 1280)
HEIGHT = 900
SHOTS = ROOT / "test-output" / "screenshots"
# (role, route): the first such page a role visits is photographed, at both widths.
PHOTOGRAPHED = {
    (ANONYMOUS, "polls:home"): "home",
    (MEMBER, "polls:question"): "question",
    (MEMBER, "polls:ask"): "ask",
    (STAFF, "polls:insights"): "insights",
    (ANONYMOUS, "polls:question_activity"): "question-activity",
    (STAFF, "polls:insights_integrity"): "insights-integrity",
    (ANONYMOUS, "polls:embed"): "embed",
    (ANONYMOUS, "polls:data"): "data",
    (ANONYMOUS, "privacy"): "privacy",
}

MEASURE = """
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => requestAnimationFrame(() => {
  const root = document.documentElement;
  const sideways = () => root.scrollWidth - root.clientWidth;
  const closed = sideways();
  const menu = document.querySelector("details.nav-menu");
  let open = 0;
  if (menu && getComputedStyle(menu).display !== "none") {
    menu.open = true;
    open = sideways();
    menu.open = false;
  }
  done({width: window.innerWidth, closed: closed, open: open});
}));
"""
AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(result => done(
  result.violations
    .filter(v => v.impact === "critical" || v.impact === "serious")
    .map(v => `${v.id} (${v.impact}) x${v.nodes.length}: ${v.nodes[0].target.join(" ")}`)
));
"""


def axe_source() -> str:
    return (installed(ROOT / "var" / "axe", "axe-core", AXE_VERSION) / "axe.min.js").read_text()


def pictures(user) -> list:
    """A question's picture and a choice's, stored as an upload would be, with descriptions."""
    stored = []
    for name, alt in (("ramen.jpg", "A bowl of ramen with a soft egg"), ("shop.jpg", "")):
        upload = SimpleUploadedFile(name, corpus.jpeg((480, 320)), content_type="image/jpeg")
        image = images.store_image(upload, user=user)
        image.alt_text = alt or "Ichiran"
        image.save(update_fields=["alt_text"])
        stored.append(image)
    return stored


class Sweep:
    def __init__(self, driver, base: str, axe: str) -> None:
        self.driver, self.base, self.axe = driver, base, axe
        self.problems: list[str] = []
        self.checks = 0
        self.width = WIDTHS[0]

    def log_in(self, user) -> None:
        self.driver.delete_all_cookies()
        if user is None:
            return
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.driver.get(f"{self.base}/healthz")
        self.driver.add_cookie({"name": cookie.key, "value": cookie.value, "path": "/"})

    def resize(self, width: int, height: int = HEIGHT) -> None:
        self.driver.set_window_size(width, height)
        self.width = width

    def visit(self, visit: Visit, shot: str | None = None) -> None:
        self.driver.get(self.base + visit.url)
        # Both widths, starting from the one the window has: one resize per page.
        order = WIDTHS if self.width == WIDTHS[0] else tuple(reversed(WIDTHS))
        for width in order:
            if width != self.width:
                self.resize(width)
            self.check(visit, width)
            if shot:
                self.photograph(f"{shot}-{width}")

    def check(self, visit: Visit, width: int) -> None:
        where = f"{visit.role} {visit.url} at {width} px"
        measured = self.driver.execute_async_script(MEASURE)
        assert measured["width"] == width, f"{where}: the window is {measured['width']} px wide"
        if measured["closed"] > 0:
            self.problems.append(f"{where}: scrolls sideways by {measured['closed']} px")
        if measured["open"] > 0:
            self.problems.append(f"{where}: with the menu open, sideways by {measured['open']} px")
        if not self.driver.execute_script("return !!window.axe"):
            self.driver.execute_script(self.axe)
        found = self.driver.execute_async_script(AXE)
        self.problems += [f"{where}: axe {violation}" for violation in found]
        self.checks += 1

    def photograph(self, name: str) -> None:
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(self.width, min(max(height, HEIGHT), 8000))
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(SHOTS / f"{name}.png"))
        self.driver.set_window_size(self.width, HEIGHT)


def test_no_page_scrolls_sideways_or_fails_axe_for_any_role_at_either_width(
    live_server, s3_bucket, staff, tmp_path, figure
):
    site = build_site(member_password="correct horse", staff_user=staff, pictures=pictures(staff))
    visits = list(
        page_visits(
            question_slugs=site.question_slugs, tag_slug=site.tag.slug, queries=site.queries
        )
    )
    # Pages outside the route table: the 404 page, and the moderation queue for staff.
    visits += [Visit(role, "404", "/no-such-page/") for role in (ANONYMOUS, MEMBER, STAFF)]
    visits.append(Visit(STAFF, "admin:moderation queue", "/admin/polls/moderationqueue/"))
    started = time.monotonic()
    driver = start_chromium(tmp_path / "chromium-profile")
    try:
        sweep = Sweep(driver, live_server.url, axe_source())
        sweep.resize(WIDTHS[0])
        users = {ANONYMOUS: None, MEMBER: site.member, STAFF: site.staff}
        photographed: set[str] = set()
        for role, user in users.items():
            sweep.log_in(user)
            for visit in (v for v in visits if v.role == role):
                shot = PHOTOGRAPHED.get((visit.role, visit.route))
                sweep.visit(visit, shot=None if shot in photographed else shot)
                photographed.add(shot)
    finally:
        driver.quit()
    pages = len({(v.route, v.url) for v in visits})
    figure(
        f"{len(visits)} page views ({pages} pages of {len({v.route for v in visits})} routes, "
        f"{len(users)} roles) x {len(WIDTHS)} widths = {sweep.checks} checks in "
        f"{time.monotonic() - started:.0f} s: {len(sweep.problems)} problems"
    )
    assert not sweep.problems, "\n".join(sweep.problems)
    assert sweep.checks == len(visits) * len(WIDTHS)
    for name in PHOTOGRAPHED.values():
        for width in WIDTHS:
            assert Path(SHOTS / f"{name}-{width}.png").stat().st_size > 0
