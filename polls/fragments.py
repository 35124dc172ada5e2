"""Rendered parts of the public pages: what is cached where, and for how long.

The rows and pager of a list page are the same for everyone, so they are rendered once and
kept in memcached for LIST_CACHE_SECONDS; the rest of the page (the header, the CSRF token,
the order tabs) is rendered for each visitor around them.

A warm question page has its data from one memcached round trip, but rendering the question's
head, its choices as radio buttons or checkboxes, and the results table took most of its time.
Those parts depend only on the question and its counts, which carry a stamp made each time they
are read from MySQL and cached (``CachedQuestion.stamp``, ``Counts.stamp``): a part rendered
for one stamp is right for as long as that cached data is, and a change to the question or a
vote gives new data with a new stamp, so nothing here is ever invalidated or stale beyond what
memcached holds.

The question's parts live in the "fragments" cache, a local-memory cache in each worker
(settings.CACHES): no network round trip, nothing shared between app servers, and lost with the
worker at no cost but a rendering. What differs per visitor (their choice, the CSRF token, the
form's errors, the header) is rendered apart, or not cached at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.user_groups import NEW_ACCOUNT_AGE
from polls import cache_keys, groups, integrity, reads
from polls.forms import VoteForm
from polls.history import DayResult, QuestionHistory, end_of, utc_day
from polls.models import Choice, Question, Tag
from polls.paging import BadCursor, Order
from polls.results import Share
from polls.results import results as results_of
from polls.templatetags.beebeta import ago
from polls.trend import trend_chart

ALIAS = "fragments"
# Longer than any cached question or count lives, so a part outlives none of the data it shows.
FRAGMENT_SECONDS = 600


def question_rows(
    *, tag: Tag | None, order: Order, after: str = "", before: str = ""
) -> SafeString | None:
    """The rows and pager of a list page (the home page, or ``tag``'s), rendered once for
    everyone alike; None for a cursor that paging did not make."""
    scope = "home" if tag is None else f"tag:{tag.pk}"
    key = cache_keys.list_page(scope, order.key, after, before)
    html = cache.get(key)
    if html is None:
        try:
            page = reads.public_page(tag=tag, order=order, after=after, before=before)
        except BadCursor:
            return None
        html = render_to_string("polls/_question_rows.html", {"page": page, "order": order})
        cache.set(key, html, settings.LIST_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308  (rendered with autoescape by render_to_string)


@dataclass(frozen=True)
class AsOf:
    """What ``?as_of=`` asked for: a UTC day, and either its figures or why there are none."""

    day: date
    result: DayResult | None = None
    notice: str = ""


def as_of(page: reads.QuestionPage, day: date, *, now: datetime | None = None) -> AsOf:
    today = utc_day(now or timezone.now())
    question = page.question
    published = question.published_at
    if day >= today:
        return AsOf(
            day,
            notice="That day is not over yet (days end at midnight UTC): here are the results now.",
        )
    if published is None or end_of(day) < published:
        return AsOf(
            day,
            notice="The question had not been asked by the end of that day: here "
            "are the results now.",
        )
    found = page.history.at(day) if page.history is not None else None
    if found is None:
        return AsOf(
            day,
            notice="No count of that day was kept (the daily snapshot did not "
            "run): here are the results now.",
        )
    return AsOf(day, result=found)


def question_parts(
    page: reads.QuestionPage,
    *,
    form: VoteForm | None = None,
    now: datetime | None = None,
    asked: AsOf | None = None,
    without_new: bool = False,
) -> dict[str, Any]:
    """The question page's context: its head, its vote options and its results, rendered once
    per cached question, counts and history (their stamps), the visitor's choices, the time
    zone and what time changes.

    ``form``: a vote form with errors, whose options are rendered for this visitor only.
    ``asked``: the results as they stood at the end of a day (``?as_of=``) instead of now.
    ``without_new``: the released results without new accounts (``?without=new``) instead.
    """
    if page.counts is None:
        raise ValueError("The question page shows the counts: read it with its results.")
    question, counts, mine = page.question, page.counts, page.mine
    past = page.history or QuestionHistory(built_on=utc_day(now or timezone.now()))
    now = now or timezone.now()
    closed = question.is_closed(now)
    zone = timezone.get_current_timezone_name()
    # A page read without a stamp (a question only staff may see) reuses none of its parts.
    reuse = page.stamp is not None
    parts: dict[str, Any] = {
        "question": question,
        "closed": closed,
        "has_voted": bool(mine),
        "options": None,
        "results": None,
        "trend": None,
        "splits": None,
        "integrity": None,
        "without_new": None,
        "as_of": asked,
    }
    parts["head"] = _part(
        "polls/_question_head.html",
        (page.stamp, closed, ago(question.published_at), zone) if reuse else None,
        lambda: {"question": question, "closed": closed},
    )
    if not closed:
        parts["options"] = _part(
            "polls/_vote_options.html",
            (page.stamp, mine) if reuse and form is None else None,
            lambda: _vote_options(page, form),
        )
    if not question.results_visible_to(has_voted=bool(mine), now=now):
        return parts
    then = asked.result if asked is not None else None
    insight = page.insight or integrity.QuestionInsight()
    account_split = next((s for s in past.splits if s.split == groups.Split.ACCOUNT), None)
    moved = integrity.without_new_accounts(account_split)
    if then is None:
        parts["integrity"] = _part(
            "polls/_integrity.html",
            (page.stamp, insight.stamp, past.stamp, zone, without_new) if reuse else None,
            lambda: _integrity(question, page.choices, insight, moved, without_new),
        )
    if then is None and without_new and moved is not None and moved.released_at is not None:
        parts["without_new"] = moved
        parts["results"] = _part(
            "polls/_results.html",
            (page.stamp, past.stamp, "without_new", closed, zone) if reuse else None,
            lambda: {
                **_results(question, page.choices, moved.votes, moved.voters, closed),
                "without": moved,
                "new_days": NEW_ACCOUNT_AGE.days,
            },
        )
    elif then is None:
        parts["results"] = _part(
            "polls/_results.html",
            (page.stamp, counts.stamp, mine, closed, zone) if reuse else None,
            lambda: _results(
                question, page.choices, counts.by_choice, counts.voters, closed, mine=set(mine)
            ),
        )
        parts["splits"] = _part(
            "polls/_groups.html",
            (page.stamp, past.stamp, zone) if reuse else None,
            lambda: _splits(page.choices, past),
        )
    else:
        # Marked with nobody's choice: a vote now is not what anyone had chosen then.
        parts["results"] = _part(
            "polls/_results.html",
            (page.stamp, past.stamp, then.day, zone) if reuse else None,
            lambda: {
                **_results(
                    question, page.choices, then.votes, then.voters, closed_then(question, then.day)
                ),
                "then": then,
            },
        )
    parts["trend"] = _part(
        "polls/_trend.html",
        (page.stamp, past.stamp, zone, then.day if then else None) if reuse else None,
        lambda: {
            "question": question,
            "chart": trend_chart(past.days, page.choices),
            "history": past,
            "then": then,
        },
    )
    return parts


def _integrity(
    question: Question,
    choices: Sequence[Choice],
    insight: integrity.QuestionInsight,
    moved: integrity.Moved | None,
    without_new: bool,
) -> dict[str, Any]:
    names = {choice.pk: choice.text for choice in choices}
    return {
        "question": question,
        "integrity": insight.integrity,
        "co_voting": insight.co_voting,
        "moved": moved,
        "moved_choice": names.get(moved.choice_id) if moved and moved.choice_id else None,
        "without_new": without_new,
        "minimum": groups.minimum(),
        "young_days": integrity.YOUNG_ACCOUNT_AGE.days,
        "new_days": NEW_ACCOUNT_AGE.days,
        "burst_factor": integrity.BURST_FACTOR,
        "burst_min": integrity.BURST_MIN_VOTES,
        "new_accounts_min": integrity.NEW_ACCOUNTS_MIN,
        "co_voting_minimum": settings.CO_VOTING_MIN_VOTERS,
    }


def closed_then(question: Question, day: date) -> bool:
    return question.closes_at is not None and question.closes_at <= end_of(day)


def _results(
    question: Question,
    choices: Sequence[Choice],
    votes: Mapping[int, int],
    voters: int,
    closed: bool,
    *,
    mine: set[int] | frozenset[int] = frozenset(),
) -> dict[str, Any]:
    return {
        "question": question,
        "closed": closed,
        "result": results_of(
            choices, votes, voters, closed=closed, multiple=question.allows_multiple, mine=mine
        ),
    }


def _splits(choices: Sequence[Choice], past: QuestionHistory) -> dict[str, Any]:
    """Each split that has voters, with a row per choice of each released group's share;
    nothing for a group that is not shown. Rows are ordered by the release's own votes: an
    order taken from the live counts would change with one person's vote."""
    tables = []
    for split in past.splits:
        if all(group.state == "nobody" for group in split.groups):
            continue
        rows = []
        if split.shown:
            released: Counter[int] = Counter()
            for group in split.groups:
                released.update(group.votes or {})
            for choice in sorted(choices, key=lambda choice: -released[choice.pk]):
                cells = [
                    (
                        group,
                        Share.of((group.votes or {}).get(choice.pk, 0), group.voters)
                        if group.state == "shown"
                        else None,
                    )
                    for group in split.groups
                ]
                rows.append((choice, cells))
        tables.append({"split": split, "rows": rows})
    return {"tables": tables, "minimum": groups.minimum()}


def _vote_options(page: reads.QuestionPage, form: VoteForm | None) -> dict[str, Any]:
    choices = page.choices
    chosen = form or VoteForm(
        initial={"choice": list(page.mine)}, question=page.question, choices=choices
    )
    # Each radio button or checkbox with its choice, for the choice's picture.
    return {"form": chosen, "options": list(zip(chosen["choice"], choices, strict=True))}


def _part(
    template: str, key: tuple[Any, ...] | None, context: Callable[[], dict[str, Any]]
) -> SafeString:
    """``template`` rendered with ``context()``, reused for the same ``key``; rendered every
    time when ``key`` is None.

    ``key`` must name everything the part shows: the stamps of the data it comes from and any
    per-visitor or time-dependent value. ``context`` is called only when the part is rendered.
    """
    if key is None:
        return mark_safe(render_to_string(template, context()))  # noqa: S308  (autoescaped)
    name = cache_keys.fragment(template, *key)
    fragments = caches[ALIAS]
    html = fragments.get(name)
    if html is None:
        html = render_to_string(template, context())
        fragments.set(name, html, FRAGMENT_SECONDS)
    return mark_safe(html)  # noqa: S308  (rendered with autoescape by render_to_string)
