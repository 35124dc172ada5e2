"""The ask and report forms as a rate limit refuses them, in Chromium at 360 and 1280 px: the
reason on top, what was typed still in the fields, no sideways scrolling, nothing critical or
serious for axe-core. Screenshots go to test-output/screenshots/ (ask-429-*, report-429-*)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import start_chromium
from tests.routes import MEMBER, Visit
from tests.test_sweep import WIDTHS, Sweep, axe_source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits(settings) -> None:
    settings.MODERATE_FIRST_QUESTIONS = 0
    settings.QUESTIONS_PER_ACCOUNT = 1
    settings.REPORTS_PER_ACCOUNT = 1


def send(driver, button) -> None:
    """Click ``button`` and wait for the page it loads."""
    button.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(button))


def ask(driver, base: str, title: str) -> None:
    driver.get(f"{base}/ask/")
    driver.find_element(By.NAME, "title").send_keys(title)
    driver.find_element(By.NAME, "choices-0-text").send_keys("Mountains")
    driver.find_element(By.NAME, "choices-1-text").send_keys("The seaside")
    send(driver, driver.find_element(By.CSS_SELECTOR, "button.primary[type=submit]:not([name])"))


def report(driver, base: str, slug: str, details: str) -> None:
    driver.get(f"{base}/q/{slug}/report/")
    driver.find_element(By.CSS_SELECTOR, "input[name=reason][value=spam]").click()
    driver.find_element(By.NAME, "details").send_keys(details)
    send(driver, driver.find_element(By.CSS_SELECTOR, "button.primary"))


def test_refused_forms_keep_what_was_typed_and_pass_the_page_checks(
    live_server, limits, alice, bob, make_question, tmp_path
):
    targets = [make_question(f"A question of Bob's, number {n}?", author=bob) for n in (1, 2)]
    driver = start_chromium(tmp_path / "chromium-profile")
    try:
        sweep = Sweep(driver, live_server.url, axe_source())
        sweep.resize(WIDTHS[0])
        sweep.log_in(alice)
        ask(driver, live_server.url, "Where do you spend your summer holidays?")
        assert "/q/" in driver.current_url
        ask(driver, live_server.url, "Where would you rather live, in the end?")
        assert "Slow down a little" in driver.page_source
        title = driver.find_element(By.NAME, "title").get_attribute("value")
        assert title == "Where would you rather live, in the end?"
        assert driver.find_element(By.NAME, "choices-1-text").get_attribute("value") == (
            "The seaside"
        )
        for width in WIDTHS:
            sweep.resize(width)
            sweep.check(Visit(MEMBER, "polls:ask", "/ask/ (429)"), width)
            sweep.photograph(f"ask-429-{width}")

        sweep.resize(WIDTHS[0])
        report(driver, live_server.url, targets[0].slug, "An advert.")
        report(driver, live_server.url, targets[1].slug, "Another advert, word for word.")
        assert "Slow down a little" in driver.page_source
        details = driver.find_element(By.NAME, "details").get_attribute("value")
        assert details == "Another advert, word for word."
        for width in WIDTHS:
            sweep.resize(width)
            sweep.check(Visit(MEMBER, "polls:report", "/q/.../report/ (429)"), width)
            sweep.photograph(f"report-429-{width}")
    finally:
        driver.quit()
    assert not sweep.problems, "\n".join(sweep.problems)
