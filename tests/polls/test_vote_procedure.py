"""The vote's two ways to MySQL agree: the stored procedure (one round trip, what MariaDB and
MySQL run, migration polls 0011) and the ORM's statements one by one (what SQLite runs under
`make run`). The same votes through each, on MariaDB, give the same outcomes, the same refusals,
and the same rows and counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone

from polls import services
from polls.models import (
    MAX_CHOICES,
    Ballot,
    ChoiceTally,
    Question,
    QuestionTally,
    Vote,
    VoteActivity,
)


def _votes(make_question, label: str) -> list[object]:
    """Cast a fixed script of votes on fresh questions; what each returned or why it was
    refused, then every row and counter they left."""
    users = [get_user_model().objects.create_user(username=f"{label}-{n}") for n in range(3)]
    one = make_question(f"{label}: one pick?", ("A", "B", "C"))
    many = make_question(f"{label}: up to three?", ("D", "E", "F", "G"), max_choices=3)
    later = make_question(
        f"{label}: closing?", ("H", "I"), closes_at=timezone.now() + timedelta(hours=1)
    )
    hidden = make_question(f"{label}: hidden?", ("J", "K"), status=Question.Status.HIDDEN)
    a, b, c = one.choices.order_by("position").values_list("pk", flat=True)
    d, e, f, g = many.choices.order_by("position").values_list("pk", flat=True)
    h, _ = later.choices.order_by("position").values_list("pk", flat=True)
    j, _ = hidden.choices.order_by("position").values_list("pk", flat=True)
    questions = [one, many, later, hidden]
    names = {choice.pk: choice.text for q in questions for choice in q.choices.all()}
    now = timezone.now()
    script = [
        (users[0], one, [a]),  # a first vote
        (users[0], one, [a]),  # the same again: unchanged
        (users[0], one, [b]),  # a change
        (users[1], one, [c, c]),  # a repeat in the form: one vote
        (users[1], one, [a, b]),  # too many for a single choice
        (users[1], one, [d]),  # another question's choice
        (users[1], one, []),  # nothing picked
        (users[0], many, [g, d]),  # the voter's order is the slots' order
        (users[0], many, [d, g]),  # the same set in another order: unchanged
        (users[0], many, [e, f, d]),  # a change that keeps one
        (users[2], many, [d, e, f, g]),  # more than the limit
        (users[2], later, [h]),  # open until later
        (users[2], hidden, [j]),  # not open
    ]
    seen: list[object] = []
    for user, question, picks in script:
        try:
            outcome = services.cast_vote(user=user, question=question, choice_ids=picks, now=now)
        except services.VoteRejected as refusal:
            seen.append(("refused", str(refusal)))
        else:
            seen.append(
                (
                    outcome.first,
                    outcome.changed,
                    tuple(names[pk] for pk in outcome.choice_ids),
                    tuple(names[pk] for pk in outcome.previous_ids),
                )
            )
    closed_at = timezone.now() + timedelta(hours=2)
    try:
        services.cast_vote(user=users[0], question=later, choice_ids=[h], now=closed_at)
    except services.VoteRejected as refusal:
        seen.append(("refused", str(refusal)))
    people = {user.pk: n for n, user in enumerate(users)}
    seen.append(
        sorted(
            (people[user_id], names[choice_id], slot)
            for user_id, choice_id, slot in Vote.objects.filter(question__in=questions).values_list(
                "ballot__user", "choice", "slot"
            )
        )
    )
    seen.append(Ballot.objects.filter(question__in=questions).count())
    seen.append(
        sorted(
            (names[row["choice"]], row["votes"])
            for row in ChoiceTally.objects.filter(question__in=questions)
            .values("choice")
            .annotate(votes=Sum("votes"))
        )
    )
    for model, column in ((QuestionTally, "voters"), (VoteActivity, "votes")):
        seen.append(
            sorted(
                row[column] or 0
                for row in model.objects.filter(question__in=questions)
                .values("question")
                .annotate(**{column: Sum(column)})
            )
        )
    return seen


@pytest.mark.django_db(transaction=True)
def test_the_procedure_and_the_orm_cast_the_same_votes(make_question, monkeypatch):
    by_procedure = _votes(make_question, "procedure")
    monkeypatch.setattr(services, "_in_one_round_trip", lambda connection: False)
    by_orm = _votes(make_question, "orm")
    assert by_procedure == by_orm
    # And the script did what it says: a first vote, an unchanged one, a change, refusals.
    assert by_procedure[0] == (True, True, ("A",), ())
    assert by_procedure[1][:2] == (False, False)
    assert by_procedure[2] == (False, True, ("B",), ("A",))
    assert by_procedure[7] == (True, True, ("G", "D"), ())
    assert by_procedure[8][:2] == (False, False)
    refusals = [
        entry[1] for entry in by_procedure if isinstance(entry, tuple) and entry[0] == "refused"
    ]
    assert refusals == [
        "This question takes a single choice.",
        "That choice is not part of this question.",
        "Pick a choice before voting.",
        "You can pick at most 3 choices.",
        "This question is not open for voting.",
        "This question is closed; it no longer takes votes.",
    ]


@pytest.mark.django_db(transaction=True)
def test_more_picks_than_any_question_takes_are_refused_both_ways(make_question, monkeypatch):
    many = make_question(
        "Which of these?", tuple(f"Pick {n}" for n in range(MAX_CHOICES + 2)), max_choices=3
    )
    picks = list(many.choices.values_list("pk", flat=True))
    voter = get_user_model().objects.create_user(username="greedy")
    refusals = []
    for procedure in (True, False):
        monkeypatch.setattr(services, "_in_one_round_trip", lambda connection, on=procedure: on)
        with pytest.raises(services.VoteRejected) as refused:
            services.cast_vote(user=voter, question=many, choice_ids=picks)
        refusals.append(str(refused.value))
    assert refusals == ["You can pick at most 3 choices."] * 2
    assert not Ballot.objects.filter(user=voter).exists()
