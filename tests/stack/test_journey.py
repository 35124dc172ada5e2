"""People use the site on the production topology, in real Chromium, and an app server stops.

Everything goes through HAProxy (TLS) -> nginx -> gunicorn, with MariaDB, two memcached nodes,
S3 and the CDN stand-in behind: a visitor signs up and activates through the emailed link, asks
a question with a picture, a moderator approves it, a second person votes and sees the results
with the picture loaded from the CDN. Then gunicorn-1 stops, and the same people carry on: log
in, vote, upload, read, with no error page, no lost session, vote or upload. A screenshot of
every step lands in test-output/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from deploy.stack.topology import DEMO_PASSWORD, Stack
from tests.stack.clients import fallbacks, request, to_nginx, wait_for
from tests.test_browser_journey import Journey

TITLE = "Should the harbour ferry play sea shanties during the crossing?"
SECOND_TITLE = "Which lighthouse along the north coast has the finest view at dusk?"
PASSWORD = "a long and unusual passphrase"
ACTIVATION_LINK = re.compile(r"https://\S+/accounts/activate/\?activation_key=\S+")


def activation_link(stack: Stack, email: str) -> str:
    """The link in the activation email, which the stack's outbox sender prints on its console
    (no EMAIL_HOST) within a few seconds of the sign-up."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        text = Path(stack.procs["outbox"].log).read_text(errors="replace")
        for message in text.split("-" * 79):
            if f"To: {email}" in message and (found := ACTIVATION_LINK.search(message)):
                return found.group(0)
        time.sleep(0.2)
    raise AssertionError(f"no activation email to {email} in the outbox sender's output")


def server_errors(stack: Stack) -> int:
    frontend = next(row for row in stack.haproxy_stats() if row["svname"] == "FRONTEND")
    return int(frontend["hrsp_5xx"])


@pytest.fixture
def pictures(tmp_path) -> SimpleNamespace:
    def photo(name: str, size: tuple[int, int]) -> Path:
        path = tmp_path / name
        Image.effect_noise(size, 60).convert("RGB").save(path, "JPEG", quality=90)
        return path

    return SimpleNamespace(
        ferry=photo("ferry.jpg", (900, 600)), lighthouse=photo("l.jpg", (640, 960))
    )


class StackJourney(Journey):
    def ask(self, title: str, choices: list[str], picture: Path, tags: str) -> None:
        self.open("/ask/")
        self.fill("id_title", title)
        self.fill("id_choices-0-text", choices[0])
        self.fill("id_choices-1-text", choices[1])
        if len(choices) > 2:
            self.press("Add another choice")
            self.fill("id_choices-2-text", choices[2])
        self.fill("id_tags", tags)
        self.driver.find_element(By.ID, "id_image").send_keys(str(picture))

    def post_question(self) -> None:
        self.press("Ask")
        # Titles close to a published one get a second look first.
        if self.driver.find_elements(By.XPATH, "//button[normalize-space()='Post mine anyway']"):
            self.press("Post mine anyway")

    def find_by_search(self, words: str, title: str) -> None:
        self.open(f"/search/?q={words.replace(' ', '+')}")
        self.submit(self.driver.find_element(By.LINK_TEXT, title))
        assert self.h1().startswith(title)

    def vote_for(self, choice: str) -> None:
        self.driver.find_element(By.XPATH, f"//label[normalize-space()='{choice}']").click()

    def image_from_cdn(self, stack: Stack) -> str:
        image = self.driver.find_element(By.CSS_SELECTOR, "img.question-image")
        wait_for(lambda: self.image_loaded("img.question-image"), "the picture to load")
        src = image.get_attribute("src")
        assert urlsplit(src).netloc == stack.cdn_host, src
        assert self.driver.execute_script("return arguments[0].naturalWidth", image) > 0
        return src

    def results(self) -> str:
        return self.driver.find_element(By.CSS_SELECTOR, ".results-table").text


def test_people_use_the_site_and_carry_on_when_an_app_server_stops(
    stack, browser, screenshots, pictures, restart_afterwards
):
    journey = StackJourney(browser, SimpleNamespace(url=stack.origin), screenshots)
    shot = journey.shot

    # A visitor signs up...
    journey.open("/accounts/register/")
    assert browser.current_url.startswith("https://")
    journey.fill("id_username", "carol")
    journey.fill("id_email", "carol@example.com")
    journey.fill("id_password1", PASSWORD)
    journey.fill("id_password2", PASSWORD)
    shot(browser, "sign-up-form")
    journey.press("Sign up")
    assert "email" in journey.h1().lower()
    shot(browser, "check-your-email")

    # ...and activates through the link in her email.
    journey.open(activation_link(stack, "carol@example.com"))
    shot(browser, "activation-form")
    journey.press("Activate my account")
    assert journey.h1() == "Your account is active"

    # Activating logged her in. She asks a question with a picture; a new account's first one
    # waits for a moderator.
    assert browser.find_element(By.CLASS_NAME, "who").get_attribute("textContent") == "carol"
    journey.ask(TITLE, ["Every crossing", "Only on Fridays", "Never"], pictures.ferry, "Travel")
    shot(browser, "ask-form")
    journey.post_question()
    assert "waits for review" in journey.h1()
    shot(browser, "awaiting-review")
    journey.log_out()

    # The seed's staff member approves it from the moderation queue.
    journey.log_in("staff", DEMO_PASSWORD)
    journey.open("/admin/polls/moderationqueue/")
    row = browser.find_element(By.XPATH, f"//tr[.//*[contains(text(), '{TITLE[:30]}')]]")
    row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Approve (publish and clear reports)"
    )
    shot(browser, "moderation-queue")
    journey.submit(browser.find_element(By.NAME, "index"))
    journey.log_out()

    # A second person finds it, sees the picture from the CDN, votes and sees the results.
    journey.log_in("demo", DEMO_PASSWORD)
    journey.find_by_search("harbour ferry shanties", TITLE)
    assert "/display/" in journey.image_from_cdn(stack)
    journey.vote_for("Only on Fridays")
    shot(browser, "question-before-vote")
    journey.press("Vote")
    assert "your vote is counted" in journey.page_text()
    assert "Only on Fridays" in journey.results() and "100%" in journey.results()
    shot(browser, "results")
    journey.log_out()

    # One app server stops, as it would for a crash or a reboot.
    errors_before = server_errors(stack)
    restart_afterwards("gunicorn-1")
    assert not stack.procs["gunicorn-1"].alive()

    # The same people carry on; whichever nginx HAProxy picks, its requests get answered.
    journey.log_in("carol", PASSWORD)
    journey.find_by_search("harbour ferry shanties", TITLE)
    journey.image_from_cdn(stack)
    journey.vote_for("Every crossing")
    journey.press("Vote")
    table = journey.results()
    assert (
        "Every crossing" in table
        and "50%" in table
        and "9–91%" in table
        and "Only on Fridays" in table
    )
    shot(browser, "second-vote-after-app-server-stopped")

    # Her second question publishes at once, upload included.
    journey.ask(SECOND_TITLE, ["Bamburgh", "Souter"], pictures.lighthouse, "Travel")
    journey.post_question()
    assert journey.h1().startswith(SECOND_TITLE)
    assert "/display/" in journey.image_from_cdn(stack)
    shot(browser, "published-after-app-server-stopped")

    journey.open("/accounts/profile/")
    profile = journey.page_text()
    assert TITLE in profile and SECOND_TITLE in profile
    shot(browser, "profile-after-app-server-stopped")
    journey.log_out()

    # Which of the journey's requests reached nginx-1 depends on HAProxy's round robin over the
    # pages and their scripts; a page asked of it as the balancer would is surely a dynamic one.
    connection = to_nginx(stack, 1, as_balancer=True)
    try:
        page = request(connection, "GET", "/", headers={"X-Forwarded-Proto": "https"})
    finally:
        connection.close()
    assert page.status == 200

    # The load balancer never answered an error, and nginx did fall back to the other server.
    assert server_errors(stack) == errors_before
    assert fallbacks(stack, "nginx-1") > 0
