"""Reading what the public pages show, through memcached.

A warm question page costs one cache round trip (question, counts and the
visitor's ballot in one get_many) and no SQL of its own. Everything cached
here can be rebuilt from MySQL, and a cache that is down only means the
rebuild happens on every request. Changes drop what they make wrong with
``forget`` (the signals for questions, the services for votes).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.memcached import PyMemcacheCache
from django.db import transaction
from django.db.models import Count, Prefetch, Q
from django.db.models.functions import Lower
from django.utils import timezone

from beebeta import replica
from polls import cache_keys, groups, tallies
from polls.history import QuestionHistory, build_history, utc_day
from polls.insights import figures
from polls.integrity import QuestionInsight, build_insight
from polls.models import CARD_PREFETCH, PUBLIC_STATUSES, Ballot, Choice, Question, Tag, Vote
from polls.paging import Order, Page, paginate
from polls.tallies import Counts

# Changes delete these keys at once, but a worker that has just given up on a memcached node
# skips its deletes for MEMCACHED_DEAD_SECONDS while other workers still read the node: the
# expiry bounds how long such a missed delete can show. A hidden question disappears within
# this; a voter's own choice is bounded like the counts (COUNTS_CACHE_SECONDS).
QUESTION_CACHE_SECONDS = 300
TAG_CLOUD_SECONDS = 300
# A tag's name rarely changes; a renamed tag shows its old name on its page this long at most.
TAG_SECONDS = 300
# The snapshot drops a question's history when it changes it; a worker that missed the drop (or
# a local run's separate cache) shows a new group release this much later at most. A new day is
# seen at once: a history built on an earlier day is built again.
HISTORY_CACHE_SECONDS = 600
# refresh_insights drops a question's insight when it releases new figures; a worker that missed
# the drop (or a local run's separate cache) shows them this much later at most.
INSIGHT_CACHE_SECONDS = 600


@dataclass(frozen=True)
class CachedQuestion:
    """What memcached holds for a question: the question, with its choices, tags, author and
    pictures, and a stamp made each time it is read from MySQL. Every worker that reads this
    copy sees the same stamp, and the parts of its page rendered for the stamp
    (polls/fragments.py) are exactly as fresh as the copy."""

    question: Question
    stamp: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass(frozen=True)
class QuestionPage:
    question: Question
    # CachedQuestion.stamp of the copy the question came from; None for a question read for
    # staff only, whose page's parts are never reused.
    stamp: str | None
    # The counts, or None when read without them (a vote: every vote changes them).
    counts: Counts | None
    # The visitor's chosen choice ids; empty when they have not voted (or were not asked about).
    mine: tuple[int, ...] = ()
    # The completed days and group splits; None when read without the results.
    history: QuestionHistory | None = None
    # Its integrity figures and co-voting; None when read without the results.
    insight: QuestionInsight | None = None

    @property
    def choices(self) -> list[Choice]:
        return list(self.question.choices.all())


def forget(keys: Sequence[str]) -> None:
    """Drop cached entries that a change has made wrong: at once, so that nothing later in the
    same transaction reads them, and again once that transaction commits, since a reader may
    cache the old rows in between. Outside a transaction, once."""
    cache.delete_many(list(keys))
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: cache.delete_many(list(keys)))


@dataclass(frozen=True)
class Held:
    """Cached values read with memcached's CAS tokens before a change commits (``hold``), so
    that the change can update them afterwards (``update_held``) instead of dropping them."""

    entries: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        found = self.entries.get(key)
        return None if found is None else found[0]


def hold(keys: Sequence[str]) -> Held:
    """The cached values of ``keys`` with their CAS tokens, in one round trip (keys of one
    question share a node). Nothing held outside memcached, or inside a transaction that
    commits later: the change then drops the keys as ``forget`` does."""
    client = _memcached()
    if client is None or transaction.get_connection().in_atomic_block:
        return Held()
    names = {cache.make_and_validate_key(key): key for key in keys}
    found = client.gets_many(list(names)) or {}
    return Held({names[name]: entry for name, entry in found.items() if entry[0] is not None})


def update_held(held: Held, values: dict[str, tuple[Any, int] | None]) -> None:
    """After the change committed: write each new value (for its number of seconds) in place of
    the one held, if that entry is still the one read before the commit (its CAS token), else
    drop it.

    Why this is safe: a reader whose rows include the change read them after the commit, so it
    stored them after ``hold`` read the token, and the token no longer matches; so did any
    other change that updated the entry meanwhile. Either way the entry is dropped and rebuilt
    from MySQL, as ``forget`` would have it. A key that was not cached when held (or whose new
    value is None) is deleted too: a reader may have stored it since, from rows read before the
    commit.
    """
    client = _memcached()
    stale = [key for key, new in values.items() if new is None or key not in held.entries]
    if client is not None:
        for key, new in values.items():
            if key in stale or new is None:
                continue
            value, seconds = new
            name = cache.make_and_validate_key(key)
            if not client.cas(name, value, held.entries[key][1], expire=seconds):
                stale.append(key)
    if stale:
        cache.delete_many(stale)


def _memcached() -> Any:
    """pymemcache's client behind the default cache, or None for another backend."""
    backend = caches["default"]
    if not isinstance(backend, PyMemcacheCache):
        return None
    return backend._cache  # type: ignore[attr-defined]


def _load_question(slug: str, *, public: bool = True) -> CachedQuestion | None:
    questions = Question.objects.public() if public else Question.objects.all()
    question = (
        questions.select_related("author", "image")
        # The object is pickled into memcached: keep the author's private
        # fields out of it.
        .defer("author__password", "author__email", "author__first_name", "author__last_name")
        .prefetch_related(
            "tags", Prefetch("choices", queryset=Choice.objects.select_related("image"))
        )
        .filter(slug=slug)
        .first()
    )
    # MySQL compares slugs without regard to case; a question has one address
    # only, so that hiding it forgets every key it was cached by.
    if question is None or question.slug != slug:
        return None
    return CachedQuestion(question=question)


def _load_ballot(user_id: int, question_id: int) -> tuple[int, ...]:
    return tuple(
        Vote.objects.filter(ballot__user_id=user_id, question_id=question_id)
        .order_by("slot")
        .values_list("choice_id", flat=True)
    )


def question_page(
    slug: str, user_id: int | None = None, *, results: bool = True
) -> QuestionPage | None:
    """The question at ``slug`` as its page shows it, or None when it is not public.

    With ``results``, its counts, its history and the ballot of ``user_id`` (when given) come
    with it, in the same round trip. A vote reads without them: every vote changes the counts and
    the ballot, so reading them would cost MySQL queries on each vote.
    """
    keys = {"question": cache_keys.question(slug)}
    if results:
        keys["counts"] = cache_keys.counts(slug)
        keys["history"] = cache_keys.history(slug)
        keys["insight"] = cache_keys.insight(slug)
        if user_id is not None:
            keys["ballot"] = cache_keys.ballot(user_id, slug)
    found = cache.get_many(keys.values())

    cached = found.get(keys["question"])
    if cached is None:
        cached = _load_question(slug)
        if cached is None:
            return None
        cache.set(keys["question"], cached, QUESTION_CACHE_SECONDS)
    elif not cached.question.is_public:
        return None
    if not results:
        return QuestionPage(question=cached.question, stamp=cached.stamp, counts=None)

    question_id = cached.question.pk
    counts = found.get(keys["counts"])
    if counts is None:
        counts = tallies.read_counts(question_id)
        cache.set(keys["counts"], counts, settings.COUNTS_CACHE_SECONDS)
    mine: tuple[int, ...] = ()
    if user_id is not None:
        ballot = found.get(keys["ballot"])
        if ballot is None:
            ballot = _load_ballot(user_id, question_id)
            cache.set(keys["ballot"], ballot, settings.COUNTS_CACHE_SECONDS)
        mine = ballot
    past = found.get(keys["history"])
    if past is None or past.built_on != utc_day(timezone.now()):
        # The history changes every five minutes at most: the replica's few seconds do not show.
        past = replica.read_lag_tolerant(build_history, question_id)
        cache.set(keys["history"], past, HISTORY_CACHE_SECONDS)
    insight = found.get(keys["insight"])
    if insight is None:
        insight = build_insight(question_id)
        cache.set(keys["insight"], insight, INSIGHT_CACHE_SECONDS)
    return QuestionPage(
        question=cached.question,
        stamp=cached.stamp,
        counts=counts,
        mine=mine,
        history=past,
        insight=insight,
    )


def private_question_page(slug: str, user_id: int | None) -> QuestionPage | None:
    """The question at ``slug`` whatever its status, for staff: read from MySQL and never
    cached, so nothing of a question the public cannot see reaches memcached; its page's
    parts are rendered afresh (no stamp)."""
    loaded = _load_question(slug, public=False)
    if loaded is None:
        return None
    question = loaded.question
    mine = _load_ballot(user_id, question.pk) if user_id is not None else ()
    counts = tallies.read_counts(question.pk)
    return QuestionPage(
        question=question,
        stamp=None,
        counts=counts,
        mine=mine,
        history=build_history(question.pk),
        insight=build_insight(question.pk),
    )


def voted_question_ids(user_id: int) -> frozenset[int]:
    """The ids of the questions ``user_id`` has voted on: one cache read when warm, else one
    index range of their ballots. A first vote drops it (polls.services), so a list shows
    "you voted" at once; a missed drop shows within COUNTS_CACHE_SECONDS."""
    key = cache_keys.voted(user_id)
    voted = cache.get(key)
    if voted is None:
        voted = frozenset(
            Ballot.objects.filter(user_id=user_id).values_list("question_id", flat=True)
        )
        cache.set(key, voted, settings.COUNTS_CACHE_SECONDS)
    return voted


def public_page(*, tag: Tag | None, order: Order, after: str = "", before: str = "") -> Page:
    """One page of the public questions (of ``tag``), as the lists show them.

    Raises paging.BadCursor for a cursor that paging did not make.
    """
    queryset = Question.objects.rows_for_cards()
    if tag is not None:
        queryset = queryset.filter(tags=tag)
    return paginate(
        queryset, order, after=after, before=before, parts=_listed(order), prefetch=CARD_PREFETCH
    )


def _listed(order: Order) -> list[Q]:
    """What a list in ``order`` shows, one status at a time: each is read straight from its
    sort index. Trending is for questions still open to votes: closed ones, whose last days of
    votes would keep them on top for a week, are under Newest and Most voted."""
    if order.key == "trending":
        still_open = Q(closes_at__isnull=True) | Q(closes_at__gt=timezone.now())
        return [Q(status=Question.Status.PUBLISHED) & still_open]
    return [Q(status=status) for status in PUBLIC_STATUSES]


def tag_cloud() -> list[Tag]:
    """Every tag with the number of public questions carrying it (one query, cached)."""
    tags = cache.get(cache_keys.TAG_CLOUD)
    if tags is None:
        tags = list(
            Tag.objects.annotate(
                question_count=Count("questions", filter=Q(questions__status__in=PUBLIC_STATUSES))
            ).order_by(Lower("name"), "name")
        )
        cache.set(cache_keys.TAG_CLOUD, tags, TAG_CLOUD_SECONDS)
    return tags


# A public heatmap is kept this long: the roll-ups it reads move once a minute at most.
ACTIVITY_CACHE_SECONDS = 300


def public_heatmap(
    zone: ZoneInfo, *, question: Question | None = None, tag: Tag | None = None
) -> figures.Heatmap:
    """The public weekday x hour activity of a question or a tag in ``zone``, cached per zone:
    one query when it is not."""
    scope = f"q:{question.pk}" if question else f"t:{tag.pk}" if tag else "site"
    key = cache_keys.activity(scope, zone.key)
    heatmap = cache.get(key)
    if heatmap is None:
        heatmap = figures.public_heatmap(
            now=timezone.now(),
            zone=zone,
            minimum=groups.minimum(),
            question_id=question.pk if question else None,
            tag_id=tag.pk if tag else None,
        )
        cache.set(key, heatmap, ACTIVITY_CACHE_SECONDS)
    return heatmap


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
