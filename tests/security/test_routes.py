"""CSRF, methods and access control, generated from the URL configuration.

Every route of Beebeta's own URLconf (admin aside) must be listed in tests/routes.py's ROUTES
with who may use it and what it does; a new route that is not fails
test_every_route_is_classified, so none can be added unnoticed. The admin's routes are checked
as a whole: staff only.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from polls.models import Question
from polls.services import cast_vote
from tests.routes import (
    ACTION,
    HEALTH,
    PUBLIC,
    READ,
    ROUTES,
    STAFF,
    admin_routes,
    site_routes,
)
from tests.routes import (
    address as route_address,
)


def test_every_route_is_classified():
    found = site_routes()
    assert found - set(ROUTES) == set(), "classify these routes in ROUTES"
    assert set(ROUTES) - found == set(), "these routes are gone: drop them from ROUTES"


@pytest.fixture
def address(question, make_question):
    """The address of a route, with real objects where the route names one."""
    tagged = make_question("Which tea is best?", ("Green", "Black"), tags=("Drinks",))
    tag_slug = tagged.tags.get().slug

    def build(name: str) -> str:
        return route_address(name, question_slug=question.slug, tag_slug=tag_slug)

    return build


def login_url(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )


# --- CSRF and methods -----------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.kind != READ])
def test_posts_without_a_csrf_token_are_refused(name, address, alice):
    anonymous, member = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    member.force_login(alice)
    for client in (anonymous, member):
        response = client.post(address(name), {"choice": "1", "reason": "spam"})
        assert response.status_code == 403, name
        # Refused by the CSRF check (its page), not by a permission check further on.
        assert "403_csrf.html" in [t.name for t in response.templates], name


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.kind == ACTION])
def test_state_changing_only_routes_refuse_get(name, address, alice):
    client = Client()
    client.force_login(alice)
    assert client.get(address(name)).status_code == 405, name


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.kind == READ])
def test_read_only_routes_refuse_post(name, address, staff):
    client = Client()
    client.force_login(staff)
    assert client.post(address(name)).status_code == 405, name


def test_admin_refuses_a_post_without_a_csrf_token(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(reverse("admin:polls_question_add"), {"title": "x"}).status_code == 403
    assert client.post(reverse("admin:login")).status_code == 403


# --- Access control -------------------------------------------------------------------------


def first_request(client: Client, name: str, url: str):
    return client.post(url) if ROUTES[name].kind == ACTION else client.get(url)


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.access != PUBLIC])
def test_anonymous_visitors_are_sent_to_log_in(name, address):
    response = first_request(Client(), name, address(name))
    assert login_url(response), (name, response.status_code)


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.access == STAFF])
def test_members_get_403_on_staff_routes(name, address, alice):
    client = Client()
    client.force_login(alice)
    assert first_request(client, name, address(name)).status_code == 403, name


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.access != STAFF])
def test_members_reach_every_other_route(name, address, alice):
    client = Client()
    client.force_login(alice)
    response = first_request(client, name, address(name))
    assert response.status_code < 500 and response.status_code not in (401, 403), name
    assert not login_url(response), name


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.access == PUBLIC])
def test_public_routes_need_no_account(name, address):
    response = first_request(Client(), name, address(name))
    assert response.status_code < 500 and response.status_code not in (401, 403), name
    assert not login_url(response), name


def test_health_check_is_public(db):
    assert Client().get(HEALTH).status_code == 200


def admin_address(name: str) -> str | None:
    for args in ((), (1,), ("1",), (1, 1), ("auth",), (1, "0" * 32)):
        try:
            return reverse(name, args=args)
        except Exception:  # noqa: BLE001, S112  (trying the shapes of admin URLs)
            continue
    return None


def test_members_never_reach_the_admin(alice):
    member = Client()
    member.force_login(alice)
    anonymous = Client()
    admin_login = reverse("admin:login")
    checked = 0
    for name in admin_routes():
        if name in ("admin:login", "admin:logout") or name.startswith("admin:unnamed"):
            continue  # the admin's own door, public by design, and its catch-all
        url = admin_address(name)
        assert url, f"cannot build an address for {name}"
        for client in (member, anonymous):
            response = client.get(url)
            # The admin answers non-staff with its login page, whatever the address.
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"].startswith(admin_login), (name, url)
        checked += 1
    assert checked > 20


def test_nobody_sees_another_members_votes(question, alice, bob):
    cast_vote(user=bob, question=question, choice_ids=[question.choices.first().pk])
    client = Client()
    client.force_login(alice)
    data = client.get(reverse("accounts:profile_data")).json()
    assert data["votes"] == []
    assert "bob" not in client.get(reverse("accounts:profile")).content.decode()
    client.force_login(bob)
    assert len(client.get(reverse("accounts:profile_data")).json()["votes"]) == 1


def test_a_pending_question_is_a_404_for_everyone_but_its_author(make_question, alice, bob):
    pending = make_question(
        "Is this waiting for a moderator?", ("Yes", "No"), status=Question.Status.PENDING
    )
    pending.author = alice
    pending.save()
    member = Client()
    member.force_login(bob)
    anonymous = Client()
    for client in (anonymous, member):
        assert client.get(reverse("polls:question", args=[pending.slug])).status_code == 404
        assert client.post(reverse("polls:vote", args=[pending.slug])).status_code == 404
    assert member.get(reverse("polls:report", args=[pending.slug])).status_code == 404
    # Reporting needs an account first, whatever the question.
    assert login_url(anonymous.get(reverse("polls:report", args=[pending.slug])))
    # Its author sees it in the waiting list; bob's list does not show it.
    author = Client()
    author.force_login(alice)
    assert pending.title in author.get(reverse("polls:ask_pending")).content.decode()
    assert pending.title not in member.get(reverse("polls:ask_pending")).content.decode()
