"""Links sent by email: single-use, expiring, refused when altered or for a staff account, each
failure on a page that says what to do next."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import EmailLink, HeldVote
from polls.models import Ballot
from tests.accounts.helpers import is_logged_in, link_in
from tests.funnel.helpers import choice_ids, pick_token, vote_by_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def emailed_link(client, question, mailoutbox):
    """The path of the sign-in link that an email vote for dana@example.com brought."""
    vote_by_email(
        client, question, pick_token(client, question, choice_ids(question)[0]), "dana@example.com"
    )
    return link_in(mailoutbox[-1])


def test_a_link_works_once(emailed_link):
    first, second = Client(), Client()
    assert first.post(emailed_link).status_code == 302
    response = second.post(emailed_link)
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has already been used" in html and "Go to the question" in html
    assert not is_logged_in(second)
    assert Ballot.objects.count() == 1
    # Opening it again shows the same, and changes nothing.
    assert second.get(emailed_link).status_code == 410


def test_an_expired_link_says_so_and_a_new_one_works(emailed_link, mailoutbox):
    EmailLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    visitor = Client()
    response = visitor.post(emailed_link)
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html and "Email me a new link" in html
    assert not is_logged_in(visitor) and not Ballot.objects.exists()
    again = visitor.post(f"{emailed_link}again/")
    assert again["Location"] == "/accounts/check-email/"
    fresh = link_in(mailoutbox[-1])
    assert fresh != emailed_link
    assert visitor.post(fresh).status_code == 302
    assert Ballot.objects.count() == 1 and not HeldVote.objects.exists()


def test_a_renewal_is_only_for_an_expired_link(emailed_link, mailoutbox):
    sent = len(mailoutbox)
    Client().post(f"{emailed_link}again/")
    assert len(mailoutbox) == sent


@pytest.mark.parametrize("tamper", ["truncated", "altered", "made up"])
def test_an_altered_or_unknown_link_is_refused(emailed_link, tamper):
    token = emailed_link.rstrip("/").rsplit("/", 1)[1]
    forged = {
        "truncated": token[:-3],
        "altered": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "made up": "x" * len(token),
    }[tamper]
    visitor = Client()
    for response in (
        visitor.get(f"/accounts/link/{forged}/"),
        visitor.post(f"/accounts/link/{forged}/"),
    ):
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert not is_logged_in(visitor) and not Ballot.objects.exists()


def test_a_link_never_signs_in_a_staff_account(staff, question):
    token = services.make_link(user=staff, purpose=EmailLink.Purpose.SIGN_IN, question=question)
    visitor = Client()
    response = visitor.post(f"/accounts/link/{token}/")
    assert response.status_code == 400
    assert "Staff log in with their password" in response.content.decode()
    assert not is_logged_in(visitor)
    assert EmailLink.objects.get().used_at is None


def test_only_a_digest_of_the_token_is_kept(emailed_link):
    token = emailed_link.rstrip("/").rsplit("/", 1)[1]
    stored = EmailLink.objects.get()
    assert token not in stored.token_digest and len(stored.token_digest) == 64


def test_clear_held_votes_removes_what_was_never_confirmed(
    emailed_link, settings, client, question
):
    settings.HELD_VOTE_HOURS = 72
    fresh = HeldVote.objects.get()
    old = HeldVote.objects.create(user=fresh.user, question=question, choice_ids=fresh.choice_ids)
    HeldVote.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=73))
    EmailLink.objects.create(
        user=fresh.user,
        purpose="sign_in",
        token_digest="0" * 64,
        expires_at=timezone.now() - timedelta(days=2),
    )
    call_command("clear_held_votes", verbosity=0)
    assert list(HeldVote.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert EmailLink.objects.count() == 1  # the emailed one, still valid
    assert not Ballot.objects.exists()
