from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Ban, LoginSession
from tests.accounts.helpers import is_logged_in, log_in, session_exists

pytestmark = pytest.mark.django_db

User = get_user_model()
CHANGELIST = reverse("admin:auth_user_changelist")


@pytest.fixture
def moderator(db):
    """Staff in the Moderators group (who may ban), but no superuser."""
    user = User.objects.create_user(
        username="mo", email="mo@example.com", password="correct horse", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def ban_through_admin(client, *users):
    return client.post(
        CHANGELIST,
        {"action": "ban_selected", "_selected_action": [u.pk for u in users]},
        follow=True,
    )


def test_ban_action_ends_sessions_at_once(alice, bob, staff):
    alices_laptop, alices_phone, bobs = Client(), Client(), Client()
    for client, name in ((alices_laptop, "alice"), (alices_phone, "alice"), (bobs, "bob")):
        assert log_in(client, name).status_code == 302
    admin = Client()
    admin.force_login(staff)

    response = ban_through_admin(admin, alice)
    assert "Banned 1 user." in response.content.decode()

    # The very next request is anonymous, and the sessions are gone, not just refused.
    assert not is_logged_in(alices_laptop) and not is_logged_in(alices_phone)
    assert not session_exists(alices_laptop) and not session_exists(alices_phone)
    assert not LoginSession.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert not alice.is_active
    ban = Ban.objects.get(user=alice)
    assert ban.banned_by == staff
    # Bob is untouched.
    assert is_logged_in(bobs)
    assert log_in(Client(), "alice").status_code == 200


def test_ban_spares_yourself_and_superusers(alice, staff, moderator):
    admin = Client()
    admin.force_login(moderator)
    response = ban_through_admin(admin, alice, staff, moderator)
    html = response.content.decode()
    assert "Banned 1 user." in html
    assert "Skipped 2 users: you cannot ban yourself or a superuser." in html
    assert list(Ban.objects.values_list("user__username", flat=True)) == ["alice"]
    assert User.objects.get(pk=staff.pk).is_active
    assert User.objects.get(pk=moderator.pk).is_active


def test_banned_filter_and_column(client, alice, bob, staff):
    services.ban_user(user=alice, by=staff, reason="spam")
    client.force_login(staff)
    banned = client.get(CHANGELIST, {"banned": "yes"})
    assert list(banned.context["cl"].result_list) == [alice]
    not_banned = client.get(CHANGELIST, {"banned": "no"})
    assert set(not_banned.context["cl"].result_list) == {bob, staff}


def test_user_page_shows_the_ban(client, alice, staff):
    services.ban_user(user=alice, by=staff, reason="spam links")
    client.force_login(staff)
    html = client.get(reverse("admin:auth_user_change", args=[alice.pk])).content.decode()
    assert "spam links" in html


def test_bans_are_read_in_their_admin_but_not_added_there(client, alice, staff):
    services.ban_user(user=alice, by=staff, reason="spam links")
    client.force_login(staff)
    listing = client.get(reverse("admin:accounts_ban_changelist"))
    assert listing.status_code == 200
    assert "spam links" in listing.content.decode()
    assert client.get(reverse("admin:accounts_ban_add")).status_code == 403
