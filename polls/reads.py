"""Reading what the public pages show, through memcached.

A warm question page costs one cache round trip (question, counts and the
visitor's ballot in one get_many) and no SQL of its own. Everything cached
here can be rebuilt from MySQL, and a cache that is down only means the
rebuild happens on every request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Prefetch, Q

from polls import cache_keys, tallies
from polls.models import PUBLIC_STATUSES, Choice, Question, Tag, Vote
from polls.tallies import Counts

# Changes delete these keys at once, but a worker that has just given up on a memcached node
# skips its deletes for MEMCACHED_DEAD_SECONDS while other workers still read the node: the
# expiry bounds how long such a missed delete can show. A hidden question disappears within
# this; a voter's own choice is bounded like the counts (COUNTS_CACHE_SECONDS).
QUESTION_CACHE_SECONDS = 300
TAG_CLOUD_SECONDS = 300
# A tag's name rarely changes; a renamed tag shows its old name on its page this long at most.
TAG_SECONDS = 300


@dataclass
class QuestionPage:
    question: Question
    counts: Counts
    # The visitor's chosen choice ids; empty when they have not voted.
    mine: tuple[int, ...]

    @property
    def choices(self) -> list[Choice]:
        return list(self.question.choices.all())


def _load_question(slug: str) -> Question | None:
    return (
        Question.objects.public()
        .select_related("author", "image")
        # The object is pickled into memcached: keep the author's private
        # fields out of it.
        .defer("author__password", "author__email", "author__first_name", "author__last_name")
        .prefetch_related(
            "tags", Prefetch("choices", queryset=Choice.objects.select_related("image"))
        )
        .filter(slug=slug)
        .first()
    )


def _load_ballot(user_id: int, question_id: int) -> tuple[int, ...]:
    return tuple(
        Vote.objects.filter(ballot__user_id=user_id, question_id=question_id)
        .order_by("slot")
        .values_list("choice_id", flat=True)
    )


def public_question(slug: str) -> Question | None:
    """The question at ``slug`` with its choices, or None when not public: one cache read.

    What a vote needs: unlike question_page, nothing that every vote changes (the counts, the
    voter's ballot), which would otherwise be read from MySQL again on each vote.
    """
    key = cache_keys.question(slug)
    question = cache.get(key)
    if question is None:
        question = _load_question(slug)
        if question is None or question.slug != slug:
            return None
        question.render_stamp = secrets.token_hex(8)
        cache.set(key, question, QUESTION_CACHE_SECONDS)
    elif not question.is_public:
        return None
    return question


def question_page(slug: str, user_id: int | None) -> QuestionPage | None:
    """The question at ``slug`` as its page shows it, or None when not public."""
    keys = {"question": cache_keys.question(slug), "counts": cache_keys.counts(slug)}
    if user_id is not None:
        keys["ballot"] = cache_keys.ballot(user_id, slug)
    found = cache.get_many(keys.values())
    missing: dict[str, object] = {}

    question = found.get(keys["question"])
    if question is None:
        question = _load_question(slug)
        # MySQL compares slugs without regard to case; a question has one
        # address only, so that hiding it forgets every key it was cached by.
        if question is None or question.slug != slug:
            return None
        # Cached with the question: rendered parts of its page are keyed by it (as for Counts).
        question.render_stamp = secrets.token_hex(8)
        missing[keys["question"]] = question
    elif not question.is_public:
        return None

    counts = found.get(keys["counts"])
    if counts is None:
        counts = tallies.read_counts(question.pk)
        cache.set(keys["counts"], counts, settings.COUNTS_CACHE_SECONDS)

    mine: tuple[int, ...] = ()
    if user_id is not None:
        mine = found.get(keys["ballot"])
        if mine is None:
            mine = _load_ballot(user_id, question.pk)
            cache.set(keys["ballot"], mine, settings.COUNTS_CACHE_SECONDS)
    if missing:
        cache.set_many(missing, QUESTION_CACHE_SECONDS)
    return QuestionPage(question=question, counts=counts, mine=mine)


def tag_cloud() -> list[Tag]:
    """Every tag with the number of public questions carrying it (one query, cached)."""
    tags = cache.get(cache_keys.TAG_CLOUD)
    if tags is None:
        tags = list(
            Tag.objects.annotate(
                question_count=Count("questions", filter=Q(questions__status__in=PUBLIC_STATUSES))
            ).order_by("name")
        )
        cache.set(cache_keys.TAG_CLOUD, tags, TAG_CLOUD_SECONDS)
    return tags


def tag(slug: str) -> Tag | None:
    """The tag at ``slug`` (cached, so a warm tag page runs no SQL), or None."""
    key = cache_keys.tag(slug)
    found = cache.get(key)
    if found is None:
        found = Tag.objects.filter(slug=slug).first()
        if found is None:
            return None
        cache.set(key, found, TAG_SECONDS)
    return found
