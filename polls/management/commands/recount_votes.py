"""Rebuild every vote counter from the vote rows, then the cached counts.

The counters are kept in the same transaction as the votes, so this is a
repair and audit tool: it reports how many counters it had to correct.
"""

from __future__ import annotations

from django.core.cache import cache
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import TruncHour

from polls import cache_keys, rankings
from polls.models import Ballot, ChoiceTally, Question, QuestionTally, Vote, VoteActivity
from polls.tallies import read_counts


class Command(BaseCommand):
    help = "Rebuild vote counters and cached counts from the vote rows (MySQL is the truth)."

    def handle(self, *args, **options) -> None:
        corrected = 0
        question_ids = list(Question.objects.values_list("pk", flat=True).order_by("pk"))
        for question_id in question_ids:
            corrected += self._recount(question_id)
        rankings.refresh(question_ids=question_ids)
        slugs = Question.objects.values_list("slug", flat=True)
        cache.delete_many([cache_keys.counts(slug) for slug in slugs])
        if options["verbosity"]:
            self.stdout.write(
                f"recount_votes: {len(question_ids)} questions, {corrected} corrected"
            )

    def _recount(self, question_id: int) -> int:
        with transaction.atomic():
            # Votes insert rows that point at the question, which takes a
            # shared lock on it; holding it exclusively pauses voting on this
            # one question while its counters are rebuilt.
            if not Question.objects.select_for_update().filter(pk=question_id).exists():
                return 0
            before = read_counts(question_id)
            by_choice = {
                row["choice_id"]: row["n"]
                for row in Vote.objects.filter(question_id=question_id)
                .values("choice_id")
                .annotate(n=Count("id"))
                .order_by()
            }
            voters = Ballot.objects.filter(question_id=question_id).count()
            hours = {
                row["hour"]: row["n"]
                for row in Ballot.objects.filter(question_id=question_id)
                .annotate(hour=TruncHour("created_at"))
                .values("hour")
                .annotate(n=Count("id"))
                .order_by()
            }
            ChoiceTally.objects.filter(question_id=question_id).delete()
            QuestionTally.objects.filter(question_id=question_id).delete()
            VoteActivity.objects.filter(question_id=question_id).delete()
            ChoiceTally.objects.bulk_create(
                ChoiceTally(question_id=question_id, choice_id=c, shard=0, votes=n)
                for c, n in by_choice.items()
            )
            QuestionTally.objects.create(question_id=question_id, shard=0, voters=voters)
            VoteActivity.objects.bulk_create(
                VoteActivity(question_id=question_id, hour=h, shard=0, votes=n)
                for h, n in hours.items()
            )
        after_choices = {c: n for c, n in before.by_choice.items() if n}
        return int(after_choices != by_choice) + int(before.voters != voters)
