"""The figures of the staff insights pages, each in a fixed number of queries.

Popularity and activity read only the roll-up tables that
``flush_view_counts`` keeps (see polls.insights.counting), over bounded time ranges
through their (hour, ...) and (day, ...) unique indexes: never the votes.
The funnel and the moderation load read accounts, questions and reports,
which grow with people and questions, not with votes.

Times are UTC hours, as the roll-ups store them; the heatmap alone turns
them into a chosen time zone, in Python, over at most 28 x 24 x 3 rows (so
MySQL needs no time-zone tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncDate

from accounts.user_groups import UserGroup
from polls.models import (
    PUBLIC_STATUSES,
    Ballot,
    GroupActivityHourly,
    Question,
    QuestionDaily,
    QuestionGroupHourly,
    QuestionHourly,
    Report,
)
from polls.tallies import hour_of

TOP = 10
HOUR = timedelta(hours=1)

# --- Most popular questions ---------------------------------------------------------------

WINDOWS = (("24h", "Last 24 hours", 1), ("7d", "Last 7 days", 7), ("30d", "Last 30 days", 30))
MEASURES = ("views", "votes")


@dataclass(frozen=True)
class Ranked:
    question_id: int
    title: str
    slug: str
    status: str
    total: int

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES


@dataclass(frozen=True)
class Ranking:
    key: str
    label: str
    start: datetime
    views: list[Ranked]
    votes: list[Ranked]


def window_start(now: datetime, days: int) -> datetime:
    """The first hour of the last ``days`` x 24 hours; the current hour is one of them,
    as in the Trending figures (polls.rankings)."""
    return hour_of(now) + HOUR - timedelta(days=days)


def popular_questions(*, now: datetime, limit: int = TOP) -> list[Ranking]:
    """The most viewed and most voted questions of each window: six queries."""
    rankings = []
    for key, label, days in WINDOWS:
        start = window_start(now, days)
        tops = {measure: _top(measure, start, limit) for measure in MEASURES}
        rankings.append(Ranking(key=key, label=label, start=start, **tops))
    return rankings


def _top(measure: str, start: datetime, limit: int) -> list[Ranked]:
    """The questions with the highest ``measure`` from ``start`` on.

    Whole days come from QuestionDaily and the hours before the first of
    them from QuestionHourly, so a 30-day window reads about 30 rows per
    question. SQL by hand because the ORM cannot aggregate over a UNION.
    """
    if measure not in MEASURES:
        raise ValueError(measure)
    midnight = datetime.combine(start.date(), time.min, tzinfo=start.tzinfo)
    first_day = midnight if midnight == start else midnight + timedelta(days=1)
    qn = connection.ops.quote_name
    hourly, daily, question = (
        QuestionHourly._meta.db_table,
        QuestionDaily._meta.db_table,
        Question._meta.db_table,
    )
    # Every name below comes from the models or from MEASURES, never from a request.
    sql = f"""
        SELECT q.{qn("id")}, q.{qn("title")}, q.{qn("slug")}, q.{qn("status")}, t.total
        FROM (
            SELECT u.question_id, SUM(u.n) AS total
            FROM (
                SELECT {qn("question_id")} AS question_id, {qn(measure)} AS n
                FROM {qn(hourly)} WHERE {qn("hour")} >= %s AND {qn("hour")} < %s
                UNION ALL
                SELECT {qn("question_id")}, {qn(measure)}
                FROM {qn(daily)} WHERE {qn("day")} >= %s
            ) u
            GROUP BY u.question_id
            HAVING SUM(u.n) > 0
            ORDER BY total DESC, u.question_id
            LIMIT %s
        ) t
        JOIN {qn(question)} q ON q.{qn("id")} = t.question_id
        ORDER BY t.total DESC, q.{qn("id")}
    """  # noqa: S608
    ops = connection.ops
    params = [
        ops.adapt_datetimefield_value(start),
        ops.adapt_datetimefield_value(first_day),
        ops.adapt_datefield_value(first_day.date()),
        limit,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            Ranked(pk, title, slug, status, total=int(total))
            for pk, title, slug, status, total in cursor.fetchall()
        ]


# --- Activity heatmap ---------------------------------------------------------------------

HEATMAP_DAYS = 28  # four whole weeks: every weekday counted four times
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Cell:
    weekday: int
    hour: int
    views: int = 0
    votes: int = 0
    # Some activity, but less than the public pages' minimum: not shown.
    hidden: bool = False

    @property
    def activity(self) -> int:
        return self.views + self.votes

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday]


SHORT_LABELS = {"anonymous": "Anonymous", "new": "New accounts", "established": "Established"}


@dataclass
class GroupGrid:
    group: str
    label: str
    # 7 weekdays (Monday first) of 24 local hours.
    rows: list[list[Cell]]

    @property
    def short_label(self) -> str:
        return SHORT_LABELS[self.group]

    @property
    def cells(self) -> list[Cell]:
        return [cell for row in self.rows for cell in row]

    @property
    def views(self) -> int:
        return sum(cell.views for cell in self.cells)

    @property
    def votes(self) -> int:
        return sum(cell.votes for cell in self.cells)

    @property
    def peak(self) -> Cell | None:
        busiest = max(self.cells, key=lambda cell: cell.activity)
        return busiest if busiest.activity else None

    def by_hour(self) -> list[int]:
        return [sum(row[hour].activity for row in self.rows) for hour in range(24)]


@dataclass
class HourOfDay:
    hour: int
    # Activity of each group, in the order of Heatmap.grids.
    values: list[int]
    # The most active group, or None when nobody was.
    leader: GroupGrid | None


@dataclass
class Heatmap:
    zone: str
    start: datetime
    end: datetime
    grids: list[GroupGrid]
    hours: list[HourOfDay] = field(default_factory=list)


def activity_heatmap(*, now: datetime, zone: ZoneInfo, days: int = HEATMAP_DAYS) -> Heatmap:
    """Views and first votes per weekday and local hour in ``zone``, per group: one query."""
    start, end = window_start(now, days), hour_of(now) + HOUR
    rows = GroupActivityHourly.objects.filter(hour__gte=start, hour__lt=end).values_list(
        "hour", "group", "views", "votes"
    )
    return _heatmap(rows, zone=zone, start=start, end=end)


def public_heatmap(
    *,
    now: datetime,
    zone: ZoneInfo,
    minimum: int,
    question_id: int | None = None,
    tag_id: int | None = None,
    days: int = HEATMAP_DAYS,
) -> Heatmap:
    """The same for one question, or for the public questions of one tag, from the per-question
    roll-ups: one query. A cell with some activity but less than ``minimum`` is hidden (shown
    as fewer than ``minimum``, counted in no sum), so no cell narrows down to a few people.

    A tag's cell adds up only its questions' cells that their own pages show: otherwise the
    tag's figure minus one question's would give another question's hidden cell."""
    start, end = window_start(now, days), hour_of(now) + HOUR
    rows = QuestionGroupHourly.objects.filter(hour__gte=start, hour__lt=end)
    if question_id is not None:
        rows = rows.filter(question_id=question_id)
    elif tag_id is not None:
        rows = rows.filter(question__tags__id=tag_id, question__status__in=PUBLIC_STATUSES)
    else:
        raise ValueError("A public heatmap is of a question or of a tag.")
    per_question: dict[int, list[tuple[datetime, str, int, int]]] = {}
    for question, hour, group, views, votes in rows.values_list(
        "question_id", "hour", "group", "views", "votes"
    ):
        per_question.setdefault(question, []).append((hour, group, views, votes))
    shown = [
        _heatmap(question_rows, zone=zone, start=start, end=end, minimum=minimum)
        for question_rows in per_question.values()
    ]
    total = _heatmap([], zone=zone, start=start, end=end)
    for heatmap in shown:
        for grid, into in zip(heatmap.grids, total.grids, strict=True):
            for cell, sum_cell in zip(grid.cells, into.cells, strict=True):
                sum_cell.views += cell.views
                sum_cell.votes += cell.votes
                # Nothing shown, but some hidden activity: "fewer than k" rather than none.
                sum_cell.hidden = (sum_cell.hidden or cell.hidden) and not sum_cell.activity
    _hide_below(total.grids, minimum)
    total.hours = _hours_of_day(total.grids)
    return total


def _heatmap(
    rows: Iterable[tuple[datetime, str, int, int]],
    *,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    minimum: int = 0,
) -> Heatmap:
    grids = {
        group.value: GroupGrid(
            group=group.value,
            label=group.label,
            rows=[[Cell(weekday, hour) for hour in range(24)] for weekday in range(7)],
        )
        for group in UserGroup
    }
    for moment, group, views, votes in rows:
        if group not in grids:
            continue
        # A zone whose offset is not whole hours shows each UTC hour at the
        # local hour in which it starts.
        local = moment.astimezone(zone)
        cell = grids[group].rows[local.weekday()][local.hour]
        cell.views += views
        cell.votes += votes
    _hide_below(list(grids.values()), minimum)
    heatmap = Heatmap(zone=zone.key, start=start, end=end, grids=list(grids.values()))
    heatmap.hours = _hours_of_day(heatmap.grids)
    return heatmap


def _hide_below(grids: list[GroupGrid], minimum: int) -> None:
    for grid in grids:
        for cell in grid.cells:
            if 0 < cell.activity < minimum:
                cell.views = cell.votes = 0
                cell.hidden = True


def _hours_of_day(grids: list[GroupGrid]) -> list[HourOfDay]:
    per_group = [grid.by_hour() for grid in grids]
    hours = []
    for hour in range(24):
        values = [figures[hour] for figures in per_group]
        busiest = max(range(len(grids)), key=values.__getitem__)
        leader = grids[busiest] if values[busiest] else None
        hours.append(HourOfDay(hour=hour, values=values, leader=leader))
    return hours


# --- Sign-up funnel ----------------------------------------------------------------------------

FUNNEL_WINDOWS = (7, 30, 90)


@dataclass(frozen=True)
class FunnelStep:
    key: str
    label: str
    count: int
    # Percent of the accounts registered. Voting and asking both need an
    # active account, but neither needs the other, so only this share is a
    # fair comparison between steps.
    of_registered: float


def signup_funnel(*, now: datetime, days: int) -> list[FunnelStep]:
    """What became of the accounts registered in the last ``days`` days: one query."""
    user = get_user_model()
    figures = user.objects.filter(
        date_joined__gt=now - timedelta(days=days), date_joined__lte=now
    ).aggregate(
        registered=Count("pk"),
        activated=Count("pk", filter=Q(is_active=True) | Q(last_login__isnull=False)),
        voted=Count("pk", filter=Q(Exists(Ballot.objects.filter(user=OuterRef("pk"))))),
        asked=Count("pk", filter=Q(Exists(Question.objects.filter(author=OuterRef("pk"))))),
    )
    labels = {
        "registered": "Registered",
        "activated": "Activated (or logged in)",
        "voted": "Voted at least once",
        "asked": "Asked a question",
    }
    registered = figures["registered"]
    return [
        FunnelStep(
            key=key,
            label=label,
            count=figures[key],
            of_registered=100.0 * figures[key] / registered if registered else 0.0,
        )
        for key, label in labels.items()
    ]


# --- Moderation load -------------------------------------------------------------------------

MODERATION_DAYS = 30


@dataclass(frozen=True)
class ModerationDay:
    day: date
    held: int
    reports: int
    resolved: int


@dataclass(frozen=True)
class ModerationLoad:
    days: list[ModerationDay]
    pending_now: int
    reported_now: int


def moderation_load(*, now: datetime, days: int = MODERATION_DAYS) -> ModerationLoad:
    """Per UTC day: questions held for review, reports filed and reports resolved: five queries.

    A question is held for review when the moderation queue holds it on asking
    (``Question.held_for_review_at``, counted on that day), whatever became of it
    since. Each query can be answered from a bounded range of an index:
    held_for_review_at for questions, and (resolved_at, question) for reports,
    since a report filed in the window is either still open or was resolved since.
    """
    first = now.date() - timedelta(days=days - 1)
    start = datetime.combine(first, time.min, tzinfo=now.tzinfo)
    status = Question.Status
    held = Question.objects.filter(held_for_review_at__gte=start)
    held_per_day = _per_day(held, "held_for_review_at")
    recent_reports = Report.objects.filter(
        Q(resolved_at__isnull=True) | Q(resolved_at__gte=start), created_at__gte=start
    )
    reports_per_day = _per_day(recent_reports, "created_at")
    resolved_per_day = _per_day(Report.objects.filter(resolved_at__gte=start), "resolved_at")
    series = [
        ModerationDay(
            day=day,
            held=held_per_day.get(day, 0),
            reports=reports_per_day.get(day, 0),
            resolved=resolved_per_day.get(day, 0),
        )
        for day in (first + timedelta(days=n) for n in range(days))
    ]
    return ModerationLoad(
        days=series,
        pending_now=Question.objects.filter(status=status.PENDING).count(),
        reported_now=Report.objects.filter(resolved_at__isnull=True)
        .values("question_id")
        .distinct()
        .count(),
    )


def _per_day(queryset, field_name: str) -> dict[date, int]:
    rows = (
        queryset.annotate(day=TruncDate(field_name))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["day"]: row["n"] for row in rows}
