"""Only staff see the insights pages; every page is plain HTML."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

URLS = [
    reverse("polls:insights"),
    reverse("polls:insights_activity"),
    reverse("polls:insights_activity") + "?tz=Europe/Helsinki",
    reverse("polls:insights_signups"),
    reverse("polls:insights_signups") + "?days=90",
    reverse("polls:insights_moderation"),
    reverse("polls:insights_integrity"),
]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_visitors_are_sent_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login") + "?next=/insights/")


@pytest.mark.parametrize("url", URLS)
def test_members_who_are_not_staff_get_the_403_page(member_client, url):
    response = member_client.get(url)
    assert response.status_code == 403
    assert "<h1>You cannot open this page</h1>" in response.content.decode()


@pytest.mark.parametrize("url", URLS)
def test_staff_see_the_page_with_no_inline_style_or_script(staff_client, url):
    response = staff_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"\sstyle=", html)
    assert "<script" not in html
    assert 'aria-current="page"' in html


@pytest.mark.parametrize("url", [reverse("polls:insights")])
def test_posting_is_refused(staff_client, url):
    assert staff_client.post(url).status_code == 405


def test_the_nav_links_to_insights_for_staff_only(staff_client, member_client):
    link = f'<a href="{reverse("polls:insights")}">Insights</a>'
    assert link in staff_client.get("/").content.decode()
    assert link not in member_client.get("/").content.decode()
