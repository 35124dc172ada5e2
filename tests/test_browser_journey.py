"""The whole journey in real Chromium, as people would do it.

A visitor signs up, activates through the captured email, logs in and asks a
question with an image; a moderator approves it; a second person votes and sees
the results, with the image loaded from the media bucket. A screenshot of each
step is saved under test-output/.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from PIL import Image as PILImage
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from polls.models import Question
from tests.polls import upload_corpus as corpus

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Which bakery makes the flakiest croissant in town?"
LINK = re.compile(r"https?://\S+/accounts/activate/\?activation_key=\S+")


class Journey:
    def __init__(self, driver, live_server, screenshots) -> None:
        self.driver, self.base, self.shot = driver, live_server.url, screenshots
        self.wait = WebDriverWait(driver, 15)

    def open(self, path: str) -> None:
        self.driver.get(path if path.startswith("http") else self.base + path)

    def fill(self, field_id: str, text: str) -> None:
        field = self.driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(text)

    def press(self, text: str) -> None:
        """Click the visible button (or else link) that says ``text``; wait for the next page."""
        for tag in ("button", "a"):
            for element in self.driver.find_elements(
                By.XPATH, f"//{tag}[normalize-space()='{text}']"
            ):
                if element.is_displayed() and element.get_attribute("aria-hidden") != "true":
                    self.submit(element)
                    return
        raise AssertionError(f"nothing to press called {text!r} on {self.driver.current_url}")

    def submit(self, element) -> None:
        # A mark on the current document; the next page will not have it. (Waiting for the
        # old <html> element to go stale races in chromedriver: while the page changes it may
        # answer "node does not belong to the document" instead of "stale element".)
        self.driver.execute_script("window.beebetaOldPage = true")
        element.click()
        self.wait.until(self._next_page_loaded)

    def _next_page_loaded(self, driver) -> bool:
        try:
            return driver.execute_script(
                "return !window.beebetaOldPage && document.readyState === 'complete'"
            )
        except WebDriverException:
            return False  # between documents

    def h1(self) -> str:
        return self.wait.until(ec.presence_of_element_located((By.TAG_NAME, "h1"))).text

    def page_text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def log_in(self, username: str, password: str) -> None:
        self.open("/accounts/login/")
        self.fill("id_username", username)
        self.fill("id_password", password)
        self.press("Log in")
        self.wait.until(ec.presence_of_element_located((By.CLASS_NAME, "who")))

    def log_out(self) -> None:
        self.press("Log out")
        self.wait.until(ec.presence_of_element_located((By.LINK_TEXT, "Log in")))

    def image_loaded(self, css: str) -> bool:
        element = self.driver.find_element(By.CSS_SELECTOR, css)
        return self.driver.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", element
        )


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "croissant.jpg"
    corpus.noise((900, 600)).save(path, "JPEG")
    return path


def test_sign_up_ask_moderate_vote_in_chromium(
    browser, live_server, screenshots, mailoutbox, s3_bucket, staff, bob, photo
):
    journey = Journey(browser, live_server, screenshots)

    # A visitor signs up.
    journey.open("/accounts/register/")
    journey.fill("id_username", "carol")
    journey.fill("id_email", "carol@example.com")
    journey.fill("id_password1", "a long and unusual passphrase")
    journey.fill("id_password2", "a long and unusual passphrase")
    journey.shot(browser, "sign-up-form")
    journey.press("Sign up")
    assert "email" in journey.h1().lower()
    journey.shot(browser, "check-your-email")

    # ...and activates through the link in the email.
    assert len(mailoutbox) == 1
    link = LINK.search(mailoutbox[0].body).group(0)
    journey.open(link)
    journey.shot(browser, "activation-form")
    journey.press("Activate my account")
    assert journey.h1() == "Your account is active"
    assert get_user_model().objects.get(username="carol").is_active

    # Activating logged her in; she asks a question with a picture.
    assert browser.find_element(By.CLASS_NAME, "who").get_attribute("textContent") == "carol"
    journey.open("/ask/")
    journey.fill("id_title", TITLE)
    journey.fill("id_description", "Buttery layers only; supermarket ones do not count.")
    journey.fill("id_choices-0-text", "Maison Feuille")
    journey.fill("id_choices-1-text", "Le Pain Doré")
    journey.press("Add another choice")
    journey.fill("id_choices-2-text", "Corner Bakehouse")
    journey.fill("id_tags", "Food, City life")
    browser.find_element(By.ID, "id_image").send_keys(str(photo))
    journey.shot(browser, "ask-form")
    journey.press("Ask")
    assert "review" in journey.page_text().lower()
    journey.shot(browser, "awaiting-review")
    question = Question.objects.get(title=TITLE)
    assert question.status == Question.Status.PENDING
    assert question.image is not None
    journey.log_out()

    # A moderator approves it from the moderation queue.
    journey.log_in("sam", "correct horse")
    journey.open("/admin/polls/moderationqueue/")
    row = browser.find_element(By.XPATH, f"//tr[.//*[contains(text(), '{TITLE[:30]}')]]")
    row.find_element(By.CSS_SELECTOR, "input.action-select").click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Approve (publish and clear reports)"
    )
    journey.shot(browser, "moderation-queue")
    journey.submit(browser.find_element(By.NAME, "index"))
    question.refresh_from_db()
    assert question.status == Question.Status.PUBLISHED
    journey.log_out()

    # A second person finds it, votes, and sees the results.
    journey.log_in("bob", "correct horse")
    journey.open("/?order=newest")
    journey.submit(browser.find_element(By.LINK_TEXT, TITLE))
    assert journey.h1().startswith(TITLE)
    assert journey.image_loaded("img.question-image")
    src = browser.find_element(By.CSS_SELECTOR, "img.question-image").get_attribute("src")
    assert s3_bucket.name in src and "/display/" in src
    browser.find_element(By.XPATH, "//label[normalize-space()='Le Pain Doré']").click()
    journey.shot(browser, "question-before-vote")
    journey.press("Vote")
    assert "your vote is counted" in journey.page_text()
    table = browser.find_element(By.CSS_SELECTOR, ".results-table").text
    assert "Le Pain Doré" in table and "100%" in table and "21–100%" in table
    assert browser.find_elements(By.CSS_SELECTOR, ".results-table tr.mine")
    journey.shot(browser, "results")

    # The rendition the browser loaded really is the re-encoded JPEG from the bucket.
    display = s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=question.image.display.name)
    with PILImage.open(display["Body"]) as rendered:
        assert rendered.format == "JPEG" and not rendered.getexif()
