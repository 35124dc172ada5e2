"""Sharing and embedding in real Chromium.

A page on another origin (a second loopback server) frames the embed and, beside it, the
question page itself: the embed shows, the question page is refused by its frame-ancestors.
The question page's "Share…" button appears only where the browser has a share sheet and hands
it the question's title and address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_site() -> Iterator[dict]:
    """A site on another origin (its own loopback port) that serves one page: ``page["html"]``."""
    page = {"html": ""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page["url"] = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()


def test_another_site_frames_the_embed_but_not_the_question_page(
    browser, live_server, other_site, make_question, screenshots
):
    question = make_question("Which tram line is the most scenic?", ("28", "12", "15"))
    address = f"{live_server.url}{question.get_absolute_url()}"
    other_site["html"] = (
        "<!doctype html><title>A blog</title><h1>My blog</h1>"
        f'<iframe id="embed" src="{address}embed/" width="560" height="460"></iframe>'
        f'<iframe id="page" src="{address}" width="560" height="300"></iframe>'
    )
    browser.get(other_site["url"])
    wait = WebDriverWait(browser, 15)
    wait.until(ec.frame_to_be_available_and_switch_to_it((By.ID, "embed")))
    title = wait.until(ec.visibility_of_element_located((By.TAG_NAME, "h1")))
    assert title.text == question.title
    vote = browser.find_element(By.LINK_TEXT, "Vote on Beebeta")
    assert vote.get_attribute("href") == address
    assert vote.get_attribute("target") == "_blank"
    browser.switch_to.default_content()
    screenshots(browser, "embed-on-another-site")
    browser.switch_to.frame(browser.find_element(By.ID, "page"))
    # Refused by frame-ancestors 'none': Chromium shows its own error page in the frame.
    assert browser.execute_script("return document.URL") != address
    assert not browser.find_elements(By.CSS_SELECTOR, "article.question")


SHARE_SHEET = """
window.__shared = [];
Object.defineProperty(navigator, "share", {
  value: function (data) { window.__shared.push(data); return Promise.resolve(); },
});
"""


def test_share_opens_the_browser_s_sheet_where_there_is_one(
    browser, live_server, make_question, screenshots
):
    question = make_question("Tea or coffee?", ("Tea", "Coffee"))
    address = f"{live_server.url}{question.get_absolute_url()}"
    browser.get(address)
    wait = WebDriverWait(browser, 15)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[data-share-native]")))
    native = browser.find_element(By.CSS_SELECTOR, "[data-share-native]")
    has_sheet = browser.execute_script("return 'share' in navigator")
    assert native.is_displayed() == has_sheet
    # A browser with a share sheet (as on phones): the button shows and hands it the question.
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SHARE_SHEET})
    browser.get(f"{address}?utm_source=newsletter")
    button = wait.until(
        ec.visibility_of_element_located((By.XPATH, "//button[normalize-space()='Share…']"))
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    screenshots(browser, "share-panel")
    button.click()
    shared = browser.execute_script("return window.__shared")
    assert shared == [{"title": question.title, "url": address}]
