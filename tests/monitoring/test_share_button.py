"""The "Copy link" button in real Chromium: it appears only with JavaScript, copies
the question's address (without the page's query string) and is counted."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.django_db(transaction=True)


def test_copy_link_copies_the_address_and_is_counted(
    browser, live_server, mixpanel, make_question, screenshots
):
    question = make_question(tags=("Food",))
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": live_server.url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    browser.get(f"{live_server.url}{question.get_absolute_url()}?utm_source=newsletter")
    wait = WebDriverWait(browser, 15)
    button = wait.until(
        ec.visibility_of_element_located((By.XPATH, "//button[normalize-space()='Copy link']"))
    )
    button.click()
    wait.until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".share-copy [role=status]"), "copied")
    )
    screenshots(browser, "link-copied")
    copied = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, (error) => done('failed: ' + error));"
    )
    assert copied == f"{live_server.url}{question.get_absolute_url()}"

    deadline = time.monotonic() + 10
    while not mixpanel.events("Share Link Copied") and time.monotonic() < deadline:
        time.sleep(0.1)  # the beacon leaves after the copy
    shared = mixpanel.one("Share Link Copied")
    assert shared["question_id"] == question.pk
    assert shared["tags"] == ["food"]
