"""Voting, changing and withdrawing votes, closing, hiding and deleting users, checked against a
simple model.

Hypothesis drives random sequences of those operations through the real services on MariaDB;
after every step the vote rows and every counter must equal what a plain dictionary says.
"""

from __future__ import annotations

from collections import Counter
from itertools import count

from django.contrib.auth import get_user_model
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from polls import services
from polls.models import Ballot, Choice, Question, Vote
from polls.tallies import read_counts

EXAMPLES = 500
_names = count()


class Voting(RuleBasedStateMachine):
    """The model: which choices each living user has on each question, and each status."""

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint that teardown rolls back.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        run = next(_names)
        self.users = [
            get_user_model().objects.create_user(username=f"m{run}-{i}") for i in range(4)
        ]
        self.questions = []
        for max_choices in (1, 2):
            question = Question.objects.create(
                title=f"Model question {run} {max_choices}",
                max_choices=max_choices,
                status=Question.Status.PUBLISHED,
            )
            Choice.objects.bulk_create(
                Choice(question=question, text=text, position=i)
                for i, text in enumerate(("A", "B", "C"))
            )
            self.questions.append(question)
        self.choices = {q.pk: list(q.choices.values_list("pk", flat=True)) for q in self.questions}
        self.status = {q.pk: Question.Status.PUBLISHED for q in self.questions}
        self.ballots: dict[tuple[int, int], frozenset[int]] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def living(self) -> list:
        # A deleted user's pk is None.
        return [user for user in self.users if user.pk is not None]

    @precondition(lambda self: self.living())
    @rule(data=st.data(), which=st.integers(0, 1))
    def vote(self, data, which: int) -> None:
        question = self.questions[which]
        user = data.draw(st.sampled_from(self.living()))
        picked = data.draw(
            st.lists(st.sampled_from(self.choices[question.pk]), min_size=0, max_size=3)
        )
        distinct = frozenset(picked)
        open_ = self.status[question.pk] == Question.Status.PUBLISHED
        acceptable = open_ and 1 <= len(distinct) <= question.max_choices
        try:
            services.cast_vote(user=user, question=question, choice_ids=picked)
        except services.VoteRejected:
            assert not acceptable, f"refused a valid vote {picked} on {self.status[question.pk]}"
        else:
            assert acceptable, f"accepted {picked} on a {self.status[question.pk]} question"
            self.ballots[(user.pk, question.pk)] = distinct

    @precondition(lambda self: self.living())
    @rule(data=st.data(), which=st.integers(0, 1))
    def withdraw(self, data, which: int) -> None:
        question = self.questions[which]
        user = data.draw(st.sampled_from(self.living()))
        open_ = self.status[question.pk] == Question.Status.PUBLISHED
        had_vote = (user.pk, question.pk) in self.ballots
        try:
            withdrawn = services.withdraw_vote(user=user, question=question)
        except services.VoteRejected:
            assert not open_, "refused to withdraw from an open question"
        else:
            assert open_, f"withdrew from a {self.status[question.pk]} question"
            assert withdrawn == had_vote
            self.ballots.pop((user.pk, question.pk), None)

    @rule(which=st.integers(0, 1), status=st.sampled_from(["published", "closed", "hidden"]))
    def moderate(self, which: int, status: str) -> None:
        question = self.questions[which]
        services.set_status(questions=[question], status=status)
        self.status[question.pk] = status

    @precondition(lambda self: len(self.living()) > 1)
    @rule(data=st.data())
    def delete_user(self, data) -> None:
        user = data.draw(st.sampled_from(self.living()))
        user_id = user.pk  # delete() sets pk to None
        user.delete()
        self.ballots = {key: v for key, v in self.ballots.items() if key[0] != user_id}

    @invariant()
    def rows_and_counters_equal_the_model(self) -> None:
        if not hasattr(self, "questions"):
            return
        for question in self.questions:
            expected = {
                user: chosen for (user, q), chosen in self.ballots.items() if q == question.pk
            }
            rows: dict[int, set[int]] = {}
            for user_id, choice_id in Vote.objects.filter(question=question).values_list(
                "ballot__user_id", "choice_id"
            ):
                rows.setdefault(user_id, set()).add(choice_id)
            assert {u: frozenset(c) for u, c in rows.items()} == expected
            assert Ballot.objects.filter(question=question).count() == len(expected)
            counts = read_counts(question.pk)
            assert counts.voters == len(expected)
            per_choice = Counter(c for chosen in expected.values() for c in chosen)
            for choice_id in self.choices[question.pk]:
                assert counts.for_choice(choice_id) == per_choice[choice_id]


Voting.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_voting_matches_the_model(db):
    Voting.TestCase().runTest()
