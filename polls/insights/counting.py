"""Question views and group activity for staff insights, without SQL on a request.

A question page view costs one memcached increment of a counter keyed by
(hour, question, group). ``flush_view_counts`` runs every minute: it moves
the counters into the hourly roll-up tables (QuestionHourly, QuestionDaily,
GroupActivityHourly) and copies the recent first votes into them from the
vote tables, so the vote path writes nothing more than it already did.

Finding the counters. Memcached cannot list keys, so each hour keeps an
index: the first view of a (question, group) in an hour creates its counter
with ``add`` and, being the only request whose ``add`` succeeded, appends the
counter to the hour's numbered slots (a slot counter plus one key per slot).

Moving the counts without losing or doubling them. The flush reads each
counter and decrements it by the value it read: increments that arrive in
between stay in memcached for the next flush. Only a count that was taken out
of memcached is written to MySQL, and if that write fails it is given back.
One flush at a time holds a lock (two flushes reading the same value would
both write it); the deploy timer does not overlap runs either.

What can still be lost, never doubled:
- counters on a memcached node that restarts, evicts them or is unreachable
  before the next flush (at most about a minute of that node's views, or all
  views while the cache is down: pages then simply do not count);
- the counts of one flush if its process dies between the decrements and the
  commit (at most a minute of views);
- a (question, group, hour) counter whose request died between creating it
  and writing its index slot;
- hours older than LOOKBACK_HOURS when the timer has been stopped that long.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from accounts.user_groups import UserGroup, joined_recently_column, user_group
from polls import tallies
from polls.cache_keys import (
    VIEW_FLUSH_LOCK,
    view_counter,
    view_slot,
    view_slot_count,
    views_flushed,
)
from polls.models import (
    Ballot,
    GroupActivityHourly,
    QuestionDaily,
    QuestionGroupHourly,
    QuestionHourly,
    VoteActivity,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)

# How far back a flush looks for counters; a timer stopped longer loses the rest.
LOOKBACK_HOURS = 48
# Counters, index slots and markers outlive the lookback.
COUNTER_SECONDS = 3 * 24 * 3600
# A request computes its hour before it increments: give the increments of an
# hour this long after it ends before its index is forgotten.
HOUR_GRACE = timedelta(minutes=5)
# Longer than any flush; a crashed flush blocks the next ones this long at most.
LOCK_SECONDS = 300
# First votes are copied from the vote tables for this many recent hours on
# every flush; `flush_view_counts --recount-hours` reaches further back.
VOTE_RECOUNT_HOURS = 3
# Keys per memcached round trip.
_BATCH = 500


# --- Hours ------------------------------------------------------------------------------------


def _hour_number(moment: datetime) -> int:
    """Hours since the epoch: the hour a counter belongs to, in UTC."""
    return int(moment.timestamp()) // 3600


def _hour_start(number: int) -> datetime:
    return datetime.fromtimestamp(number * 3600, tz=UTC)


# --- Counting ---------------------------------------------------------------------------------


def _incr(key: str, delta: int = 1) -> int | None:
    """Memcached's incr: the new value, or None when the key is missing or the node is down.

    Django raises ValueError for a missing key; pymemcache with ``ignore_exc``
    answers False for a node it cannot reach.
    """
    try:
        value = cache.incr(key, delta)
    except ValueError:
        return None
    return None if isinstance(value, bool) else value


def _add_or_incr(key: str) -> int | None:
    value = _incr(key)
    if value is None:
        value = 1 if cache.add(key, 1, COUNTER_SECONDS) else _incr(key)
    return value


def count_view(
    *, question_id: int, user: User | AnonymousUser, now: datetime | None = None
) -> None:
    """Count one view of a question page: memcached only, never an error."""
    now = now or timezone.now()
    hour, group = _hour_number(now), user_group(user, now)
    key = view_counter(hour, question_id, group)
    try:
        if _incr(key) is not None:
            return
        if cache.add(key, 1, COUNTER_SECONDS):
            # Only the request that created the counter lists it in the index.
            slot = _add_or_incr(view_slot_count(hour))
            if slot is not None:
                cache.set(view_slot(hour, slot), f"{question_id}:{group}", COUNTER_SECONDS)
        else:
            # Created by another request a moment ago, or the cache is down:
            # then the view is not counted.
            _incr(key)
    except Exception:
        # A page never fails because of a counter.
        logger.warning("question view not counted", exc_info=True)


# --- Flushing views ---------------------------------------------------------------------


def flush(*, now: datetime | None = None, recount_hours: int = VOTE_RECOUNT_HOURS) -> int | None:
    """Flush the views (flush_views: their number, or None when skipped), then copy the first
    votes of the last ``recount_hours`` hours."""
    now = now or timezone.now()
    views = flush_views(now=now)
    copy_first_votes(now=now, hours=recount_hours)
    return views


def flush_if_process_local() -> None:
    """Flush now when the counters live in this process only.

    With the embedded local-memory cache (`make run`) the flush command's timer cannot reach
    them: the insights pages fold them in before they read the roll-ups.
    """
    if isinstance(caches["default"], LocMemCache):
        flush()


def _batches(keys: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _BATCH):
        yield keys[start : start + _BATCH]


def _get_many(keys: Iterable[str]) -> dict:
    found: dict = {}
    for batch in _batches(list(keys)):
        found.update(cache.get_many(batch))
    return found


def flush_views(*, now: datetime) -> int | None:
    """Move the view counters of the last LOOKBACK_HOURS into the roll-ups.

    Returns the number of views written, or None when it could not take the
    lock: another flush is running, or the cache is unreachable.
    """
    token = uuid.uuid4().hex
    if not cache.add(VIEW_FLUSH_LOCK, token, LOCK_SECONDS):
        return None
    try:
        return _flush_views_locked(now)
    finally:
        # Not atomic, but a flush only outlives its lock after LOCK_SECONDS.
        if cache.get(VIEW_FLUSH_LOCK) == token:
            cache.delete(VIEW_FLUSH_LOCK)


def _open_hours(now: datetime) -> dict[int, int]:
    """Hours that may hold unflushed counters, with their number of index slots."""
    current = _hour_number(now)
    hours = range(current - LOOKBACK_HOURS, current + 1)
    found = _get_many([view_slot_count(h) for h in hours] + [views_flushed(h) for h in hours])
    return {
        h: found[view_slot_count(h)]
        for h in hours
        if found.get(view_slot_count(h)) and not found.get(views_flushed(h))
    }


def _counters(open_hours: dict[int, int]) -> dict[str, tuple[int, int, str]]:
    """Every indexed counter key of those hours, with its (hour, question id, group)."""
    slots = {
        view_slot(h, slot): h for h, count in open_hours.items() for slot in range(1, count + 1)
    }
    counters = {}
    for slot_key, value in _get_many(slots).items():
        number, _, group = value.partition(":")
        hour, question_id = slots[slot_key], int(number)
        # A counter lost to eviction and created again has two slots: one key.
        counters[view_counter(hour, question_id, group)] = (hour, question_id, group)
    return counters


def _claim(counts: dict[str, int]) -> tuple[dict[str, int], set[str]]:
    """Take the counts read out of memcached; return the claimed ones and the failed keys."""
    claimed, failed = {}, set()
    for key, value in counts.items():
        try:
            left = cache.decr(key, value)
        except ValueError:
            # Expired or evicted since it was read: nobody else can count it.
            left = 0
        if isinstance(left, bool):
            failed.add(key)  # node unreachable: the count stays for the next flush
        else:
            claimed[key] = value
    return claimed, failed


def _give_back(claimed: dict[str, int]) -> None:
    for key, value in claimed.items():
        # The index still lists the key, so a counter created again is found.
        if _incr(key, value) is None and not cache.add(key, value, COUNTER_SECONDS):
            _incr(key, value)


def _flush_views_locked(now: datetime) -> int:
    open_hours = _open_hours(now)
    counters = _counters(open_hours)
    counts = {
        key: value
        for key, value in _get_many(counters).items()
        if isinstance(value, int) and value > 0
    }
    claimed, failed = _claim(counts)
    try:
        _write_views({counters[key]: value for key, value in claimed.items()})
    except Exception:
        _give_back(claimed)
        raise
    # An hour whose increments are all in (its grace is over) and whose
    # counters were all claimed is not read again.
    failed_hours = {counters[key][0] for key in failed}
    finished = [
        h for h in open_hours if h not in failed_hours and _hour_start(h + 1) + HOUR_GRACE <= now
    ]
    cache.set_many({views_flushed(h): 1 for h in finished}, COUNTER_SECONDS)
    return sum(claimed.values())


def _write_views(views: dict[tuple[int, int, str], int]) -> None:
    per_question: Counter[tuple[datetime, int]] = Counter()
    per_day: Counter[tuple[date, int]] = Counter()
    per_group: Counter[tuple[datetime, str]] = Counter()
    per_question_group: Counter[tuple[datetime, int, str]] = Counter()
    for (hour, question_id, group), value in views.items():
        start = _hour_start(hour)
        per_question[start, question_id] += value
        per_day[start.date(), question_id] += value
        per_group[start, group] += value
        per_question_group[start, question_id, group] += value
    _write_rollups(per_question, per_day, per_group, per_question_group, add=("views",))


# The roll-up tables and the unique keys of their rows.
_ROLLUPS = (
    (QuestionHourly, ("hour", "question")),
    (QuestionDaily, ("day", "question")),
    (GroupActivityHourly, ("hour", "group")),
    (QuestionGroupHourly, ("hour", "question", "group")),
)


def _write_rollups(
    *figures: dict[tuple, int], add: Sequence[str] = (), replace: Sequence[str] = ()
) -> None:
    """Per question and hour, per question and day, per group and hour, per question, group and
    hour: {key: value} each,
    added to the column named in ``add`` or written over the one in ``replace``, in one
    transaction so that the three tables never disagree."""
    with transaction.atomic():
        for (model, keys), rows in zip(_ROLLUPS, figures, strict=True):
            tallies.upsert_counters(
                model,
                keys,
                [(*key, value) for key, value in rows.items()],
                add=add,
                replace=replace,
            )


# --- Copying votes -------------------------------------------------------------------------


def copy_first_votes(*, now: datetime, hours: int = VOTE_RECOUNT_HOURS) -> None:
    """Copy first votes of the last ``hours`` hours into the roll-ups.

    The figures are recomputed from the vote tables and written over the old
    ones, so running it twice, or two at once, counts nothing twice, and a
    vote that commits late is caught by the next run. Both reads are bounded
    by time through indexes: VoteActivity by (hour, question), Ballot by
    (question, created_at) for the questions voted on in the window.
    """
    end = tallies.hour_of(now) + timedelta(hours=1)
    start = end - timedelta(hours=max(hours, 1))
    # Whole days, so that the daily figures are complete sums.
    day_start = start.replace(hour=0)
    per_hour = (
        VoteActivity.objects.filter(hour__gte=day_start, hour__lt=end)
        .values("question_id", "hour")
        .annotate(votes=Sum("votes"))
        .order_by()
    )
    hourly: dict[tuple[datetime, int], int] = {}
    daily: Counter[tuple[date, int]] = Counter()
    for row in per_hour:
        if row["hour"] >= start:
            hourly[row["hour"], row["question_id"]] = row["votes"]
        daily[row["hour"].date(), row["question_id"]] += row["votes"]
    question_ids = {question_id for _, question_id in hourly}
    per_question_group = _group_votes(question_ids, start, end)
    # Every hour of the window gets a row per group, as for each question.
    per_group: Counter[tuple[datetime, str]] = Counter()
    hour = start
    while hour < end:
        for group in (UserGroup.NEW.value, UserGroup.ESTABLISHED.value):
            per_group[hour, group] = 0
        hour += timedelta(hours=1)
    for (hour, _, group), votes in per_question_group.items():
        per_group[hour, group] += votes
    _write_rollups(hourly, daily, per_group, per_question_group, replace=("votes",))


def _group_votes(
    question_ids: set[int], start: datetime, end: datetime
) -> dict[tuple[datetime, int, str], int]:
    """First votes per hour, question and group; every hour of the window gets a row for each
    question and group, so a withdrawn vote lowers the figure instead of leaving the old one."""
    found: dict[tuple[datetime, int, str], int] = defaultdict(int)
    if question_ids:
        rows = (
            Ballot.objects.filter(
                question_id__in=sorted(question_ids), created_at__gte=start, created_at__lt=end
            )
            .annotate(
                at=TruncHour("created_at"),
                new=joined_recently_column(joined="user__date_joined", at=F("created_at")),
            )
            .values("at", "question_id", "new")
            .annotate(ballots=Count("pk"))
            .order_by()
        )
        for row in rows:
            group = UserGroup.NEW.value if row["new"] else UserGroup.ESTABLISHED.value
            found[row["at"], row["question_id"], group] += row["ballots"]
    hour, every_hour = start, {}
    while hour < end:
        for question_id in question_ids:
            for group in (UserGroup.NEW.value, UserGroup.ESTABLISHED.value):
                every_hour[hour, question_id, group] = found.get((hour, question_id, group), 0)
        hour += timedelta(hours=1)
    return every_hour
