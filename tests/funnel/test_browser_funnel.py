"""The three ways from a tick to a counted vote, in real Chromium, with their page loads
counted by the browser itself (DevTools: each document shown in the tab; redirects on the way
are not page loads).

From the question page, a member who is logged out reaches a counted vote in at most 3 page
loads; a new person in at most 4 plus the click in the email, which is opened in a second
browser (another device, nothing shared with the first). The figures are reported.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from selenium.webdriver.common.by import By

from polls.models import Vote
from tests.accounts.helpers import FIXTURE_PASSWORD
from tests.conftest import start_chromium
from tests.test_browser_journey import LINK, Journey

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
LINK_IN_EMAIL = r"https?://\S+/accounts/(?:link/\S+/|activate/\?activation_key=\S+)"


def page_loads(driver) -> int:
    """Documents the tab has shown since the last call."""
    loads = 0
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        if event["method"] == "Page.frameNavigated" and not event["params"]["frame"].get(
            "parentId"
        ):
            loads += 1
    return loads


@pytest.fixture
def browsers(tmp_path):
    """Two browsers with nothing in common: a phone and a laptop, say."""
    started = []

    def start(name: str):
        driver = start_chromium(tmp_path / name, page_log=True)
        started.append(driver)
        return driver

    try:
        yield start
    finally:
        for driver in started:
            driver.quit()


def tick_and_vote(journey: Journey, question, choice: str) -> None:
    journey.open(question.get_absolute_url())
    page_loads(journey.driver)  # the question page is where the count starts
    journey.driver.find_element(By.XPATH, f"//label[normalize-space()='{choice}']").click()
    journey.press("Vote")
    assert journey.h1() == "Almost there"
    assert choice in journey.page_text()


def the_link(mailoutbox) -> str:
    import re

    return re.search(LINK_IN_EMAIL, mailoutbox[-1].body).group(0)


def test_a_logged_out_member_votes_in_three_page_loads(
    browsers, live_server, screenshots, question, alice, figure
):
    phone = browsers("phone")
    journey = Journey(phone, live_server, screenshots)
    tick_and_vote(journey, question, "Ippudo")
    journey.shot(phone, "almost-there")
    journey.press("Log in to vote")
    assert "Log in to vote" in journey.h1()
    journey.fill("id_username", "alice")
    journey.fill("id_password", FIXTURE_PASSWORD)
    journey.press("Log in and vote")
    assert "your vote is counted" in journey.page_text()
    journey.shot(phone, "counted")
    loads = page_loads(phone)
    assert Vote.objects.get(ballot__user=alice).choice.text == "Ippudo"
    assert loads <= 3, loads
    figure(f"logged-out member: {loads} page loads from the question page to a counted vote")


def test_a_new_person_votes_with_an_email_on_another_device(
    browsers, live_server, screenshots, question, mailoutbox, figure
):
    phone, laptop = browsers("phone"), browsers("laptop")
    journey = Journey(phone, live_server, screenshots)
    tick_and_vote(journey, question, "Menya")
    journey.fill("id_email", "ivy@example.com")
    journey.press("Email me a link")
    assert journey.h1() == "Check your email"
    journey.shot(phone, "check-your-email")
    before_email = page_loads(phone)

    other = Journey(laptop, live_server, screenshots)
    other.open(the_link(mailoutbox))  # the click in the email
    page_loads(laptop)
    other.shot(laptop, "link-page")
    other.press("Log in and count my vote")
    assert "your vote is counted" in other.page_text()
    other.shot(laptop, "counted")
    after_email = page_loads(laptop)
    ivy = User.objects.get(email="ivy@example.com")
    assert Vote.objects.get(ballot__user=ivy).choice.text == "Menya"
    assert before_email + after_email <= 4, (before_email, after_email)
    figure(
        f"new person, email vote: {before_email} + {after_email} page loads "
        "plus the click in the email (opened on a second device)"
    )


def test_a_new_person_signs_up_and_activates_on_another_device(
    browsers, live_server, screenshots, question, mailoutbox, figure
):
    phone, laptop = browsers("phone"), browsers("laptop")
    journey = Journey(phone, live_server, screenshots)
    tick_and_vote(journey, question, "Ichiran")
    journey.press("Sign up with a username and password")
    assert journey.h1() == "Sign up"
    journey.fill("id_username", "jules")
    journey.fill("id_email", "jules@example.com")
    journey.fill("id_password1", "a long and unusual passphrase")
    journey.fill("id_password2", "a long and unusual passphrase")
    journey.press("Sign up")
    assert journey.h1() == "Check your email"
    before_email = page_loads(phone)

    other = Journey(laptop, live_server, screenshots)
    link = the_link(mailoutbox)
    assert LINK.match(link)
    other.open(link)  # the click in the email
    page_loads(laptop)
    other.press("Activate my account")
    assert "your vote is counted" in other.page_text()
    after_email = page_loads(laptop)
    jules = User.objects.get(username="jules")
    assert jules.is_active
    assert Vote.objects.get(ballot__user=jules).choice.text == "Ichiran"
    assert before_email + after_email <= 4, (before_email, after_email)
    figure(
        f"new person, sign-up: {before_email} + {after_email} page loads "
        "plus the click in the email (opened on a second device)"
    )
