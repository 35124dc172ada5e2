"""From a tick to a counted vote: the pick held by "Almost there" survives log-in, sign-up and
voting with an email address, on this device or another, and is counted once, through the
same vote service as any vote."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import EmailLink, HeldVote
from accounts.services import ban_user
from polls.models import Ballot, Question, Vote
from polls.services import set_status
from polls.tallies import read_counts
from tests.accounts.helpers import (
    FIXTURE_PASSWORD,
    STRONG_PASSWORD,
    activation_key_of,
    hidden_value,
    is_logged_in,
    link_in,
    post_activation,
)
from tests.funnel.helpers import (
    almost_there_url,
    choice_ids,
    hold,
    pick_token,
    vote_by_email,
)

pytestmark = pytest.mark.django_db

User = get_user_model()


def counted(user, question: Question) -> set[int]:
    return set(
        Vote.objects.filter(ballot__user=user, question=question).values_list(
            "choice_id", flat=True
        )
    )


def messages_on(client, url: str) -> str:
    return client.get(url).content.decode()


# --- The question page and "Almost there" -----------------------------------------------------


def test_the_anonymous_vote_form_goes_by_get_and_carries_nothing_per_visitor(client, question):
    response = client.get(question.get_absolute_url())
    html = response.content.decode()
    form = re.search(r'<form class="vote-form".*?</form>', html, re.S).group(0)
    assert f'action="{almost_there_url(question)}"' in form and 'method="get"' in form
    assert "csrfmiddlewaretoken" not in form
    assert "sessionid" not in response.cookies


def test_members_keep_the_post_form_with_its_token(client, alice, question):
    client.force_login(alice)
    html = client.get(question.get_absolute_url()).content.decode()
    form = re.search(r'<form class="vote-form".*?</form>', html, re.S).group(0)
    assert 'method="post"' in form and "csrfmiddlewaretoken" in form


def test_almost_there_names_the_question_and_the_pick_and_counts_nothing(client, question):
    first, second, _ = choice_ids(question)
    response = hold(client, question, second)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Almost there" in html and question.title in html
    assert "<strong>Ippudo</strong>" in html
    assert "Log in to vote" in html and "Vote with your email" in html and "Sign up" in html
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert not Ballot.objects.exists() and not HeldVote.objects.exists()


@pytest.mark.parametrize(
    "picked", [[], ["999999"], ["not a number"]], ids=["nothing", "another question's", "junk"]
)
def test_almost_there_refuses_a_bad_pick_with_the_choices_to_pick_again(client, question, picked):
    response = client.get(almost_there_url(question), {"choice": picked})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="errorlist"' in html and "Ichiran" in html and 'method="get"' in html


def test_almost_there_refuses_two_picks_on_a_single_choice_question(client, question):
    response = hold(client, question, *choice_ids(question)[:2])
    assert response.status_code == 400
    assert "This question takes a single choice." in response.content.decode()


def test_almost_there_on_a_closed_question_says_so(client, closed_question):
    response = hold(client, closed_question, choice_ids(closed_question)[0])
    assert "Voting has ended" in response.content.decode()
    assert not HeldVote.objects.exists()


def test_almost_there_of_a_hidden_question_is_not_found(client, question):
    set_status(questions=[question], status=Question.Status.HIDDEN)
    assert hold(client, question, choice_ids(question)[0]).status_code == 404


# --- Log in -------------------------------------------------------------------------------------


def login_with_pick(client, question, token, password=FIXTURE_PASSWORD, username="alice"):
    login = reverse("accounts:login")
    return client.post(
        f"{login}?next={question.get_absolute_url()}&vote={token}",
        {
            "username": username,
            "password": password,
            "vote": token,
            "next": question.get_absolute_url(),
        },
    )


def test_logging_in_casts_the_held_pick_and_lands_on_the_question(client, alice, question):
    second = choice_ids(question)[1]
    token = pick_token(client, question, second)
    page = client.get(
        f"{reverse('accounts:login')}?next={question.get_absolute_url()}&vote={token}"
    )
    assert "Log in to vote on" in page.content.decode()  # the <title> says what it is for
    response = login_with_pick(client, question, token)
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    assert counted(alice, question) == {second}
    assert "Thank you: your vote is counted." in messages_on(client, response["Location"])
    assert read_counts(question.pk).voters == 1


def test_a_wrong_password_keeps_the_pick_and_counts_nothing(client, alice, question):
    token = pick_token(client, question, choice_ids(question)[0])
    response = login_with_pick(client, question, token, password="not it")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please enter a correct username and password" in html
    assert hidden_value(html, "vote") == token
    assert not Ballot.objects.exists()


def test_an_altered_pick_is_ignored_and_the_log_in_still_works(client, alice, question):
    token = pick_token(client, question, choice_ids(question)[0])
    response = login_with_pick(client, question, token[:-2] + "xx")
    assert response.status_code == 302
    assert is_logged_in(client) and not Ballot.objects.exists()


def test_the_right_password_of_an_account_not_yet_activated_says_so_and_resends(
    client, alice, mailoutbox
):
    alice.is_active = False
    alice.save()
    response = client.post(
        reverse("accounts:login"), {"username": "alice", "password": FIXTURE_PASSWORD}
    )
    html = response.content.decode()
    assert "Your account is not activated yet" in html
    assert "Email me a new activation link" in html
    assert mailoutbox == []
    resend = client.post(
        reverse("django_registration_resend"), {"resend": hidden_value(html, "resend")}
    )
    assert resend["Location"] == reverse("django_registration_complete")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    # The wrong password to the same account gets the usual message, and no offer.
    wrong = client.post(
        reverse("accounts:login"), {"username": "alice", "password": "nope"}
    ).content.decode()
    assert "Please enter a correct username and password" in wrong and "not activated" not in wrong


def test_a_banned_account_is_not_offered_a_new_link(client, alice, staff):
    ban_user(user=alice, by=staff)
    html = client.post(
        reverse("accounts:login"), {"username": "alice", "password": FIXTURE_PASSWORD}
    ).content.decode()
    assert "not activated" not in html and "Please enter a correct username" in html


# --- Sign up ---------------------------------------------------------------------------------


def sign_up_with_pick(client, token, username="carol", email="carol@example.com"):
    return client.post(
        f"{reverse('django_registration_register')}?vote={token}",
        {
            "username": username,
            "email": email,
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
            "vote": token,
        },
    )


def test_sign_up_holds_the_vote_in_the_database_and_activation_on_another_device_casts_it(
    client, question, mailoutbox
):
    third = choice_ids(question)[2]
    token = pick_token(client, question, third)
    page = client.get(f"{reverse('django_registration_register')}?vote={token}").content.decode()
    assert "It is counted when you open the activation link" in page
    assert sign_up_with_pick(client, token).status_code == 302
    carol = User.objects.get(username="carol")
    assert not carol.is_active
    assert list(HeldVote.objects.values_list("user", "question", "choice_ids")) == [
        (carol.pk, question.pk, [third])
    ]
    assert not Ballot.objects.exists()

    phone = Client()  # another device: nothing of the first one's session
    key = activation_key_of(link_in(mailoutbox[0]))
    assert question.title in mailoutbox[0].body
    response = post_activation(phone, key)
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    assert "your vote is counted" in messages_on(phone, question.get_absolute_url())
    assert is_logged_in(phone)
    assert counted(carol, question) == {third}
    assert not HeldVote.objects.exists()
    # The link is used up: opening it again counts nothing twice.
    assert "already active" in post_activation(Client(), key).content.decode()
    assert read_counts(question.pk).voters == 1


# --- Vote with an email address --------------------------------------------------------------


def test_a_new_address_gets_an_account_and_its_link_counts_the_vote_on_another_device(
    client, question, mailoutbox
):
    first = choice_ids(question)[0]
    token = pick_token(client, question, first)
    response = vote_by_email(client, question, token, "dana@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:check_email")
    dana = User.objects.get(email="dana@example.com")
    assert not dana.is_active and not dana.has_usable_password()
    assert dana.username.startswith("voter-") and "dana" not in dana.username
    assert not Ballot.objects.exists()

    (message,) = mailoutbox
    assert message.to == ["dana@example.com"] and question.title in message.body
    assert "works once, for 60 minutes" in message.body
    link = link_in(message)
    laptop = Client()
    shown = laptop.get(link)
    assert "Log in and count my vote" in shown.content.decode()
    assert not Ballot.objects.exists()  # opening the link only shows a button
    response = laptop.post(link)
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    dana.refresh_from_db()
    assert dana.is_active and is_logged_in(laptop)
    assert counted(dana, question) == {first}


def test_an_existing_member_gets_a_sign_in_link_that_casts_the_vote(
    client, alice, question, mailoutbox
):
    second = choice_ids(question)[1]
    token = pick_token(client, question, second)
    vote_by_email(client, question, token, "ALICE@example.com")
    assert User.objects.count() == 1
    (message,) = mailoutbox
    assert message.to == ["alice@example.com"]
    response = Client().post(link_in(message))
    assert response["Location"] == question.get_absolute_url()
    assert counted(alice, question) == {second}


def test_a_staff_address_gets_no_link_only_a_word_to_use_the_password(
    client, staff, question, mailoutbox
):
    token = pick_token(client, question, choice_ids(question)[0])
    vote_by_email(client, question, token, staff.email)
    (message,) = mailoutbox
    assert "/accounts/link/" not in message.body and "password" in message.body
    assert not EmailLink.objects.exists() and not HeldVote.objects.exists()


def test_a_banned_address_gets_nothing(client, alice, staff, question, mailoutbox):
    ban_user(user=alice, by=staff)
    token = pick_token(client, question, choice_ids(question)[0])
    assert vote_by_email(client, question, token, alice.email).status_code == 302
    assert mailoutbox == []


def test_a_bad_address_is_refused_beside_its_field_and_the_pick_kept(client, question):
    token = pick_token(client, question, choice_ids(question)[0])
    response = vote_by_email(client, question, token, "not an address")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_email_error"' in html and 'value="not an address"' in html
    assert hidden_value(html, "vote") == token
    assert not User.objects.exists()


# --- Held votes meanwhile ----------------------------------------------------------------------


def held_for(client, question, email, *picked):
    vote_by_email(client, question, pick_token(client, question, *picked), email)


def test_two_tabs_on_one_question_end_as_one_ballot_with_the_last_pick(question, alice, mailoutbox):
    first, second, _ = choice_ids(question)
    held_for(Client(), question, "alice@example.com", first)
    held_for(Client(), question, "alice@example.com", second)
    links = [link_in(message) for message in mailoutbox]
    assert len(links) == 2
    Client().post(links[0])
    Client().post(links[1])  # a sign-in, with nothing left to cast
    assert Ballot.objects.filter(user=alice, question=question).count() == 1
    assert counted(alice, question) == {second}
    assert read_counts(question.pk).voters == 1


@pytest.mark.parametrize("change", ["closed", "hidden"])
def test_a_held_vote_on_a_question_closed_or_hidden_meanwhile_is_not_counted_and_says_why(
    client, question, mailoutbox, change
):
    held_for(client, question, "dana@example.com", choice_ids(question)[0])
    set_status(
        questions=[question],
        status=Question.Status.CLOSED if change == "closed" else Question.Status.HIDDEN,
    )
    visitor = Client()
    response = visitor.post(link_in(mailoutbox[0]), follow=True)
    assert response.status_code in (200, 404)
    html = visitor.get(reverse("polls:home")).content.decode() + response.content.decode()
    assert "was not counted" in html
    assert not Ballot.objects.exists()
    assert is_logged_in(visitor)


def test_a_held_vote_of_an_account_banned_meanwhile_is_never_counted(
    client, question, staff, mailoutbox
):
    held_for(client, question, "dana@example.com", choice_ids(question)[0])
    ban_user(user=User.objects.get(email="dana@example.com"), by=staff)
    response = Client().post(link_in(mailoutbox[0]))
    assert response.status_code == 400
    assert "closed by the moderators" in response.content.decode()
    assert not Ballot.objects.exists()


def test_logging_in_with_a_pick_on_a_question_hidden_meanwhile_says_it_was_not_counted(
    client, alice, question
):
    token = pick_token(client, question, choice_ids(question)[0])
    set_status(questions=[question], status=Question.Status.HIDDEN)
    response = login_with_pick(client, question, token)
    assert response.status_code == 302
    assert "Your pick was not counted" in messages_on(client, reverse("polls:home"))
    assert is_logged_in(client) and not Ballot.objects.exists()


def test_logging_in_with_a_pick_on_a_question_closed_meanwhile_says_so(client, alice, question):
    token = pick_token(client, question, choice_ids(question)[0])
    set_status(questions=[question], status=Question.Status.CLOSED)
    response = login_with_pick(client, question, token)
    assert response["Location"] == question.get_absolute_url()
    assert "no longer takes votes" in messages_on(client, question.get_absolute_url())
    assert not Ballot.objects.exists()


def test_the_admin_refuses_another_accounts_address_beside_the_field(client, staff, alice, bob):
    client.force_login(staff)
    url = reverse("admin:auth_user_change", args=[bob.pk])
    page = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "username": "bob",
            "email": "ALICE@example.com",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
            "ban-TOTAL_FORMS": "0",
            "ban-INITIAL_FORMS": "0",
            "ban-MIN_NUM_FORMS": "0",
            "ban-MAX_NUM_FORMS": "1",
        },
    )
    assert "email" in page
    assert response.status_code == 200
    assert "Another account has this email address." in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == "bob@example.com"
