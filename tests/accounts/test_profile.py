from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import LoginSession
from polls.models import Ballot, Question
from polls.services import cast_vote
from polls.tallies import read_counts
from tests.accounts.helpers import (
    FIXTURE_PASSWORD,
    comparable,
    is_logged_in,
    link_in,
    log_in,
    session_exists,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
PROFILE = reverse("accounts:profile")
DATA = reverse("accounts:profile_data")


def choice_ids(question: Question) -> list[int]:
    return list(question.choices.values_list("pk", flat=True))


@pytest.fixture
def alices_questions(alice, make_question) -> dict[str, Question]:
    """One question of each status, asked a day apart (published first)."""
    now = timezone.now()
    statuses = ["published", "closed", "hidden", "pending", "draft"]
    return {
        status: make_question(
            f"Alice's {status} question?",
            ("Yes", "No"),
            status=status,
            author=alice,
            created_at=now - timedelta(days=len(statuses) - i),
        )
        for i, status in enumerate(statuses)
    }


@pytest.mark.parametrize(
    "url",
    [PROFILE, DATA, reverse("accounts:change_email"), reverse("accounts:delete_account")],
)
def test_profile_pages_need_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


def test_profile_lists_my_questions_newest_first_linking_public_ones(
    client, alice, bob, alices_questions, make_question
):
    make_question("Bob's question?", author=bob)
    client.force_login(alice)
    html = client.get(PROFILE).content.decode()
    order = ("draft", "pending", "hidden", "closed", "published")
    titles = [f"Alice&#x27;s {s} question?" for s in order]
    positions = [html.index(t) for t in titles]
    assert positions == sorted(positions)
    assert "Bob&#x27;s question?" not in html
    for label in ("Draft", "Pending review", "Hidden", "Closed", "Published"):
        assert f"{label} · asked" in html
    for status, question in alices_questions.items():
        linked = f'href="{question.get_absolute_url()}"' in html
        assert linked == (status in ("published", "closed")), status


def test_profile_lists_my_votes_with_my_choices_only(client, alice, bob, make_question):
    ramen = make_question()
    langs = make_question("Which languages?", ("Python", "Rust", "Go"), max_choices=2)
    cast_vote(user=alice, question=ramen, choice_ids=choice_ids(ramen)[1:2])
    cast_vote(user=alice, question=langs, choice_ids=choice_ids(langs)[:2])
    cast_vote(user=bob, question=ramen, choice_ids=choice_ids(ramen)[2:3])
    client.force_login(alice)
    html = client.get(PROFILE).content.decode()
    assert "You chose <strong>Ippudo</strong>" in html
    assert "You chose <strong>Python</strong>, <strong>Rust</strong>" in html
    assert "Menya" not in html  # Bob's choice
    assert "Only you can see this list." in html


def test_profile_takes_the_same_number_of_queries_however_much_it_lists(
    client, alice, make_question
):
    client.force_login(alice)

    def queries_for_profile() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(PROFILE).status_code == 200
        return len(queries)

    first = make_question("First?", author=alice)
    cast_vote(user=alice, question=first, choice_ids=choice_ids(first)[:1])
    queries_for_profile()  # caches the account (accounts/session_user.py)
    small = queries_for_profile()
    # My questions, my ballots with their questions, the chosen choices (the session and the
    # account come from the cache).
    assert small == 3
    for n in range(4):
        question = make_question(f"More {n}?", ("A", "B", "C"), author=alice, max_choices=3)
        cast_vote(user=alice, question=question, choice_ids=choice_ids(question))
    assert queries_for_profile() == small


class TestDataDownload:
    def test_is_an_attached_json_file_of_mine_only(
        self, client, alice, bob, alices_questions, make_question
    ):
        published = alices_questions["published"]
        cast_vote(user=alice, question=published, choice_ids=choice_ids(published)[:1])
        bobs = make_question("Bob's question?", ("Up", "Down"), author=bob)
        cast_vote(user=bob, question=bobs, choice_ids=choice_ids(bobs)[1:])
        cast_vote(user=bob, question=published, choice_ids=choice_ids(published)[1:])
        client.force_login(alice)

        response = client.get(DATA)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "no-store" in response["Cache-Control"]
        data = json.loads(response.content)

        assert set(data) == {"account", "questions", "votes", "failed_logins"}
        assert data["failed_logins"] == []
        assert data["account"]["username"] == "alice"
        assert data["account"]["email"] == "alice@example.com"
        assert data["account"]["date_joined"].startswith(str(alice.date_joined.year))
        assert "last_login" in data["account"]

        assert [q["status"] for q in data["questions"]] == [
            "draft",
            "pending",
            "hidden",
            "closed",
            "published",
        ]
        first = data["questions"][-1]
        assert first["title"] == "Alice's published question?"
        assert first["slug"] == published.slug
        assert first["choices"] == ["Yes", "No"]
        assert first["published_at"] is not None
        assert {"description", "created_at"} <= set(first)

        assert len(data["votes"]) == 1
        vote = data["votes"][0]
        assert vote["question_slug"] == published.slug
        assert vote["question_title"] == published.title
        assert vote["choices"] == ["Yes"]
        assert {"created_at", "updated_at"} <= set(vote)
        # Nothing of Bob's.
        assert "Bob" not in response.content.decode()
        assert "Down" not in response.content.decode()

    def test_refuses_post(self, client, alice):
        client.force_login(alice)
        assert client.post(DATA).status_code == 405


class TestChangeEmail:
    url = reverse("accounts:change_email")

    def test_changes_it_once_the_new_address_confirms_and_tells_the_old_one(
        self, client, alice, mailoutbox
    ):
        client.force_login(alice)
        response = client.post(
            self.url, {"email": "alice@new.example", "current_password": FIXTURE_PASSWORD}
        )
        assert response.status_code == 302 and response["Location"] == PROFILE
        html = client.get(PROFILE).content.decode()
        assert "We have sent a link to alice@new.example." in html
        # Nothing changes until the new address answers.
        alice.refresh_from_db()
        assert alice.email == "alice@example.com"
        assert len(mailoutbox) == 1
        confirm = mailoutbox[0]
        assert confirm.to == ["alice@new.example"]
        assert confirm.subject == "Confirm your new Beebeta email address"
        link = link_in(confirm)
        assert "Use this address" in client.get(link).content.decode()
        alice.refresh_from_db()
        assert alice.email == "alice@example.com"  # opening the link only shows a button

        response = client.post(link)
        assert response.status_code == 302 and response["Location"] == PROFILE
        alice.refresh_from_db()
        assert alice.email == "alice@new.example"
        profile = client.get(PROFILE).content.decode()
        assert "Your email address is now alice@new.example." in profile
        assert len(mailoutbox) == 2
        notice = mailoutbox[1]
        assert notice.to == ["alice@example.com"]
        assert notice.subject == "Your Beebeta email address was changed"
        assert "alice@new.example" in notice.body
        # The link worked once.
        assert "already been used" in client.post(link).content.decode()

    def test_wrong_password_is_refused_and_typed_email_kept(self, client, alice, mailoutbox):
        client.force_login(alice)
        response = client.post(
            self.url, {"email": "alice@new.example", "current_password": "not it"}
        )
        assert response.status_code == 200
        assert response.context["form"].errors == {
            "current_password": ["That is not your current password."]
        }
        html = response.content.decode()
        assert 'id="id_current_password_error"' in html
        assert 'value="alice@new.example"' in html
        alice.refresh_from_db()
        assert alice.email == "alice@example.com"
        assert mailoutbox == []

    @pytest.mark.parametrize("taken", ["bob@example.com", "BOB@Example.com"])
    def test_an_address_in_use_gets_the_same_answer_and_its_owner_an_email(
        self, client, alice, bob, taken, mailoutbox
    ):
        client.force_login(alice)
        answers = []
        for address in (taken, "free@example.com"):
            response = client.post(
                self.url, {"email": address, "current_password": FIXTURE_PASSWORD}, follow=True
            )
            page = comparable(response.content.decode(), address)
            answers.append((response.status_code, response.redirect_chain, page))
        # Nothing tells the two apart but the address itself.
        assert answers[0] == answers[1]
        alice.refresh_from_db()
        assert alice.email == "alice@example.com"
        in_use, free = mailoutbox
        assert in_use.to == [taken] and "already has an account" in in_use.body
        assert "/accounts/link/" not in in_use.body
        assert free.to == ["free@example.com"] and link_in(free).startswith("/accounts/link/")

    def test_the_same_address_is_not_a_change(self, client, alice):
        client.force_login(alice)
        response = client.post(
            self.url, {"email": "ALICE@example.com", "current_password": FIXTURE_PASSWORD}
        )
        assert response.context["form"].errors["email"] == ["That is already your email address."]


class TestChangeUsername:
    url = reverse("accounts:change_username")

    def test_renames_the_account(self, client, alice):
        client.force_login(alice)
        response = client.post(self.url, {"username": "alice_b"}, follow=True)
        assert response.redirect_chain == [(PROFILE, 302)]
        assert "Your username is now alice_b." in response.content.decode()
        alice.refresh_from_db()
        assert alice.username == "alice_b"

    def test_a_name_taken_meanwhile_leaves_the_account_as_it_was(self, alice, bob):
        # The form found "bob" free; another account has it by the time the row is saved.
        assert not services.change_username(user=alice, username="bob")
        assert alice.username == "alice"
        alice.refresh_from_db()
        assert alice.username == "alice"


class TestDeleteAccount:
    url = reverse("accounts:delete_account")

    def test_get_only_asks(self, client, alice):
        client.force_login(alice)
        response = client.get(self.url)
        assert response.status_code == 200
        assert "This cannot be undone" in response.content.decode()
        assert User.objects.filter(pk=alice.pk).exists()

    def test_wrong_password_keeps_the_account(self, client, alice):
        client.force_login(alice)
        response = client.post(self.url, {"current_password": "not it"})
        assert response.status_code == 200
        assert 'id="id_current_password_error"' in response.content.decode()
        assert User.objects.filter(pk=alice.pk).exists()
        assert is_logged_in(client)

    def test_deleting_withdraws_votes_keeps_questions_and_logs_out_everywhere(
        self, alice, bob, make_question
    ):
        asked = make_question("Alice asks?", ("Yes", "No"), author=alice)
        ramen = make_question()
        first, second, _ = choice_ids(ramen)
        cast_vote(user=alice, question=ramen, choice_ids=[first])
        cast_vote(user=bob, question=ramen, choice_ids=[second])
        cast_vote(user=alice, question=asked, choice_ids=choice_ids(asked)[:1])
        assert read_counts(ramen.pk).voters == 2

        laptop, phone = Client(), Client()
        log_in(laptop, "alice")
        log_in(phone, "alice")
        response = laptop.post(self.url, {"current_password": FIXTURE_PASSWORD})
        assert response.status_code == 302 and response["Location"] == reverse("polls:home")
        assert "Your account is deleted" in laptop.get(response["Location"]).content.decode()

        assert not User.objects.filter(username="alice").exists()
        counts = read_counts(ramen.pk)
        assert (counts.voters, counts.for_choice(first), counts.for_choice(second)) == (1, 0, 1)
        assert read_counts(asked.pk).voters == 0
        assert not Ballot.objects.filter(question=asked).exists()
        asked.refresh_from_db()
        assert asked.author is None
        assert "a former member" in laptop.get(asked.get_absolute_url()).content.decode()

        assert not is_logged_in(laptop) and not is_logged_in(phone)
        assert not session_exists(phone)
        assert not LoginSession.objects.exists()
