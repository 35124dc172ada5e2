"""Moderation in /admin/: finding questions, changing their status, and what stays read-only."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from polls import services
from polls.models import Ballot, Choice, Question, Tag

CHANGELIST = reverse("admin:polls_question_changelist")


@pytest.fixture
def moderator(staff) -> Client:
    """A client logged in as staff, apart from the visitors' ``client``."""
    moderator = Client()
    moderator.force_login(staff)
    return moderator


def change_url(question: Question) -> str:
    return reverse("admin:polls_question_change", args=[question.pk])


def admin_page(client, url: str, params: dict | None = None) -> str:
    response = client.get(url, params or {})
    assert response.status_code == 200, url
    return response.content.decode()


@pytest.fixture
def ramen_and_tea(make_question) -> tuple[Question, Question]:
    ramen = make_question("Best ramen?", ("Ichiran", "Ippudo"), tags=("Food",))
    tea = make_question("Tea or coffee?", ("Tea", "Coffee"), status=Question.Status.PENDING)
    return ramen, tea


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({}, ["Best ramen?", "Tea or coffee?"]),
        ({"status__exact": "pending"}, ["Tea or coffee?"]),
        ({"status__exact": "published"}, ["Best ramen?"]),
        ({"tags__id__exact": "FOOD"}, ["Best ramen?"]),
        ({"q": "coffee"}, ["Tea or coffee?"]),
    ],
)
def test_staff_find_questions_by_status_tag_and_words(moderator, ramen_and_tea, params, shown):
    if params.get("tags__id__exact") == "FOOD":
        params = {"tags__id__exact": Tag.objects.get(slug="food").pk}
    html = admin_page(moderator, CHANGELIST, params)
    for question in ramen_and_tea:
        assert (f">{question.title}</a>" in html) == (question.title in shown), question.title


def test_change_page_edits_choices_inline(moderator, ramen_and_tea):
    ramen, _ = ramen_and_tea
    html = admin_page(moderator, change_url(ramen))
    assert 'name="choices-0-text"' in html and 'value="Ichiran"' in html
    assert 'name="choices-1-text"' in html and 'value="Ippudo"' in html


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_non_staff_are_sent_to_the_admin_login(client, alice, ramen_and_tea, who):
    if who == "alice":
        client.force_login(alice)
    for url in (CHANGELIST, change_url(ramen_and_tea[0])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={url}"


def run_action(client, action: str, *questions: Question):
    response = client.post(
        CHANGELIST, {"action": action, "_selected_action": [q.pk for q in questions]}
    )
    assert response.status_code == 302
    return response


@pytest.mark.parametrize(
    "address",
    [
        lambda q: q.get_absolute_url(),
        # MariaDB matches slugs whatever their letter case, so this address
        # serves the question too, cached under a key of its own.
        lambda q: reverse("polls:question", args=[q.slug.upper()]),
    ],
    ids=["canonical", "upper-case"],
)
def test_hiding_takes_the_cached_page_down_at_once(client, moderator, question, address):
    url = address(question)
    client.get(url, follow=True)  # whatever this address shows is cached now
    assert client.get(question.get_absolute_url()).status_code == 200
    run_action(moderator, "hide", question)
    question.refresh_from_db()
    assert question.status == Question.Status.HIDDEN
    assert client.get(question.get_absolute_url()).status_code == 404
    assert client.get(url, follow=True).status_code == 404


def test_closing_shows_at_once_on_the_cached_page(client, moderator, question):
    assert "Voting has ended" not in admin_page(client, question.get_absolute_url())
    run_action(moderator, "close", question)
    question.refresh_from_db()
    assert question.status == Question.Status.CLOSED
    html = admin_page(client, question.get_absolute_url())
    assert "Voting has ended" in html and 'class="vote-form"' not in html


def test_publishing_drafts_and_hidden_questions_puts_them_online(client, moderator, make_question):
    draft = make_question("A draft?", status=Question.Status.DRAFT)
    hidden = make_question("A hidden one?")
    services.set_status(questions=[hidden], status=Question.Status.HIDDEN)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(hidden.get_absolute_url()).status_code == 404
    response = run_action(moderator, "publish", draft, hidden)
    assert "2 questions are now published." in admin_page(moderator, response["Location"])
    for question in (draft, hidden):
        question.refresh_from_db()
        assert question.status == Question.Status.PUBLISHED and question.published_at
        assert client.get(question.get_absolute_url()).status_code == 200


def test_ballots_are_read_only(moderator, alice, question):
    choice = question.choices.first()
    services.cast_vote(user=alice, question=question, choice_ids=[choice.pk])
    ballot = Ballot.objects.get()
    change = reverse("admin:polls_ballot_change", args=[ballot.pk])
    assert moderator.get(reverse("admin:polls_ballot_add")).status_code == 403
    html = admin_page(moderator, change)
    assert 'name="_save"' not in html and 'name="votes-0-choice"' not in html
    assert choice.text in html
    assert moderator.post(change, {"user": alice.pk, "question": question.pk}).status_code == 403
    delete = reverse("admin:polls_ballot_delete", args=[ballot.pk])
    assert moderator.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_page(moderator, reverse("admin:polls_ballot_changelist"))
    assert "delete_selected" not in changelist
    assert Ballot.objects.get().votes.get().choice == choice


def change_form_data(question: Question, *, delete_first_choice: bool) -> dict:
    choices = list(question.choices.all())
    data = {
        "title": question.title,
        "description": question.description,
        "author": "",
        "image": "",
        "status": question.status,
        "max_choices": question.max_choices,
        "closes_at_0": "",
        "closes_at_1": "",
        "results_visibility": question.results_visibility,
        "choices-TOTAL_FORMS": len(choices),
        "choices-INITIAL_FORMS": len(choices),
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 1000,
    }
    for i, choice in enumerate(choices):
        prefix = f"choices-{i}-"
        data |= {prefix + "id": choice.pk, prefix + "question": question.pk}
        data |= {prefix + "text": choice.text, prefix + "position": i, prefix + "image": ""}
    if delete_first_choice:
        data["choices-0-DELETE"] = "on"
    return data


def test_choices_can_be_deleted_until_someone_votes(moderator, alice, make_question):
    question = make_question("Best ramen?", ("Ichiran", "Ippudo", "Menya"))
    assert 'name="choices-0-DELETE"' in admin_page(moderator, change_url(question))

    services.cast_vote(user=alice, question=question, choice_ids=[question.choices.first().pk])
    assert 'name="choices-0-DELETE"' not in admin_page(moderator, change_url(question))
    # A hand-made form asking for the deletion anyway is saved without it.
    data = change_form_data(question, delete_first_choice=True)
    assert moderator.post(change_url(question), data).status_code == 302
    assert list(question.choices.values_list("text", flat=True)) == ["Ichiran", "Ippudo", "Menya"]
    assert Choice.objects.filter(votes__isnull=False).count() == 1


def test_an_unvoted_choice_is_deleted_through_the_same_form(moderator, make_question):
    question = make_question("Best ramen?", ("Ichiran", "Ippudo", "Menya"))
    data = change_form_data(question, delete_first_choice=True)
    assert moderator.post(change_url(question), data).status_code == 302
    assert list(question.choices.values_list("text", flat=True)) == ["Ippudo", "Menya"]
