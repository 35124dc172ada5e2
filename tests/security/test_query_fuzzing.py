"""Hostile query strings, cookies and cursors under hypothesis: every page of the route table
(tests/routes.py) as the least trusted role that may open it, the admin's lists as staff, the
time-zone cookie, and the pagination cursor decoder. Any answer below 500 is fine (the page,
a 400, a 404, a redirect); a 500 fails the test.

`make fuzz` runs FUZZ_EXAMPLES (10,000) examples for the decoder and a tenth of them per page;
`make test` the smaller default.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, urlencode

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from polls.paging import ORDERS, BadCursor, decode_cursor
from tests.routes import ACTION, MEMBER, PUBLIC, ROUTES, STAFF, address
from tests.security.test_fuzzing import EXAMPLES, TRICKY, fuzz, values

# One request per example: a tenth of the form examples for each page.
per_page = fuzz.__class__(parent=fuzz, max_examples=max(EXAMPLES // 10, 25))


def encoded(data: object) -> str:
    text = json.dumps(data) if not isinstance(data, str) else data
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["2026-12-01T10:00:00+00:00", "9999-12-31T23:59:59+14:00", "2026-12-01"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)
# What a cursor decodes to: lists of the right length or not, nested, deeply nested, huge.
cursors = st.one_of(
    json_values.map(encoded),
    st.lists(json_values, min_size=2, max_size=3).map(encoded),
    st.integers(min_value=1, max_value=200_000).map(lambda depth: encoded("[" * depth)),
    st.integers(min_value=1, max_value=5000).map(lambda n: encoded("[" + "9" * n + ",1]")),
    st.text(max_size=40),
)

# The parameters the pages read, and some they do not.
PARAMETERS = [
    "order",
    "after",
    "before",
    "q",
    "as_of",
    "days",
    "tz",
    "vote",
    "next",
    "title",
    "choice",
    "page",
]
query_values = st.one_of(values, cursors, st.sampled_from(sorted(ORDERS)))
queries = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=6)),
        st.lists(query_values, min_size=1, max_size=2),
        max_size=4,
    ).map(lambda params: urlencode(params, doseq=True)),
    # Whatever a hand-written address can hold, percent-encoded only where it must be.
    st.text(max_size=60).map(lambda raw: quote(raw, safe="=&;+%")),
)

LEAST_TRUSTED = {PUBLIC: None, MEMBER: "alice", STAFF: "staff"}
PAGES = sorted(name for name, route in ROUTES.items() if route.kind != ACTION)


@pytest.fixture
def visitor(alice, staff):
    def client_for(access: str) -> Client:
        client = Client()
        user = {PUBLIC: None, MEMBER: alice, STAFF: staff}[access]
        if user is not None:
            client.force_login(user)
        return client

    return client_for


@pytest.mark.parametrize("name", PAGES)
def test_any_query_string_on_every_page(name, visitor, make_question):
    tagged = make_question("Which tea is best?", ("Green", "Black"), tags=("Drinks",))
    url = address(name, question_slug=tagged.slug, tag_slug=tagged.tags.get().slug)
    visit_with_any_query(visitor(ROUTES[name].access), url, queries)


def visit_with_any_query(client: Client, url: str, strategy: st.SearchStrategy[str]) -> None:
    """GET ``url`` with query strings drawn from ``strategy``: never a 500."""

    @per_page
    @given(query=strategy)
    def visit(query):
        response = client.get(f"{url}?{query}")
        assert response.status_code < 500, (url, query)

    visit()


@per_page
@given(zone=st.one_of(values, st.sampled_from(["Europe/Paris", "../../etc/passwd", "UTC"])))
def test_any_time_zone_cookie(zone, client, question):
    # A cookie arrives as bytes, which the server reads as Latin-1 (PEP 3333).
    client.cookies["tz"] = zone.encode("utf-8", "surrogatepass").decode("latin-1")
    for url in ("/", question.get_absolute_url()):
        assert client.get(url).status_code < 500, zone


# Signed and emailed links: whatever stands where their token does, in the address or the form.
path_tokens = st.one_of(values, cursors).map(lambda token: quote(token or "x", safe=""))


@per_page
@given(token=path_tokens, uid=path_tokens)
def test_any_token_in_an_emailed_link(token, uid, client, alice):
    links = [
        reverse("accounts:email_link", args=["TOKEN"]),
        reverse("accounts:password_reset_confirm", args=["UID", "TOKEN"]),
        f"{reverse('django_registration_activate')}?activation_key=TOKEN",
    ]
    for link in links:
        url = link.replace("TOKEN", token).replace("UID", uid)
        assert client.get(url).status_code < 500, url
    for name, field in (
        ("django_registration_activate", "activation_key"),
        ("django_registration_resend", "resend"),
    ):
        response = client.post(reverse(name), {field: token})
        assert response.status_code < 500, (name, token)
    response = client.post(reverse("accounts:email_link", args=[token]), {"confirm": "1"})
    assert response.status_code < 500, token


@fuzz
@given(token=cursors, order=st.sampled_from(sorted(ORDERS)))
def test_the_cursor_decoder_refuses_or_decodes(token, order):
    try:
        decoded = decode_cursor(ORDERS[order], token)
    except BadCursor:
        return
    assert len(decoded) == len(ORDERS[order].fields)


# --- The admin's lists, as staff ---------------------------------------------------------------

# Date drill-downs (date_hierarchy), list filters, search, ordering and paging.
ADMIN_PARAMETERS = [
    *(f"{field}__{part}" for field in ("created_at", "banned_at") for part in ("year", "month")),
    "created_at__day",
    "published_at__gte",
    "published_at__lt",
    "created_at__gte",
    "resolved_at__isnull",
    "status__exact",
    "tags__id__exact",
    "reason__exact",
    "review",
    "banned",
    "is_staff__exact",
    "q",
    "o",
    "p",
    "e",
    "all",
]
admin_values = st.one_of(
    values,
    st.sampled_from(TRICKY),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["0", "13", "32", "99999", "2026", "2026-02-30", "2026-12-01 10:00:00"]),
)
admin_queries = st.dictionaries(
    st.sampled_from(ADMIN_PARAMETERS), admin_values, min_size=1, max_size=4
).map(urlencode)
CHANGELISTS = sorted(
    f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    for model in admin.site._registry
    if model._meta.app_label in ("polls", "accounts", "auth")
)


@pytest.mark.parametrize("name", CHANGELISTS)
def test_any_filter_on_the_admin_lists(name, staff, question):
    client = Client()
    client.force_login(staff)
    visit_with_any_query(client, reverse(name), admin_queries)


def test_a_cursor_nested_deeper_than_python_recurses_starts_the_list_over(client, question):
    # A few kilobytes that made the decoder raise RecursionError: a 500 on every list page.
    response = client.get("/", {"after": encoded("[" * 5000)})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("days", ["²", "٣٠", "9" * 5000, "007", "-7"])
def test_odd_digits_for_the_insights_window_show_the_default_one(days, staff):
    # "²" and "٣٠" pass str.isdigit() and fail int(); 5,000 digits exceed int()'s limit.
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("polls:insights_signups"), {"days": days})
    assert response.status_code == 200
    assert response.context["days"] == 30
