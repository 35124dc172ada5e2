"""Keyset pagination for the question lists.

An OFFSET makes MySQL walk every skipped row, so page 1,000 would cost fifty
times page 1. Instead each page ends with a cursor: the sort values of its
last row, and the next page asks for the rows strictly after it, which the
matching index answers directly. Nothing ever counts the whole list.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

PAGE_SIZE = 20


@dataclass(frozen=True)
class Order:
    key: str
    label: str
    # Descending sort fields; the last is always the primary key so that
    # every row has a distinct position.
    fields: tuple[str, ...]


ORDERS = {
    order.key: order
    for order in (
        Order("trending", "Trending", ("votes_24h", "votes_7d", "id")),
        Order("newest", "Newest", ("published_at", "id")),
        Order("most-voted", "Most voted", ("voter_count", "id")),
    )
}
DEFAULT_ORDER = "trending"


class BadCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def is_first(self) -> bool:
        return self.prev_cursor is None


def encode_cursor(order: Order, row: Any) -> str:
    values = []
    for name in order.fields:
        value = getattr(row, name)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(order: Order, token: str) -> list:
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(token) from exc
    if not isinstance(values, list) or len(values) != len(order.fields):
        raise BadCursor(token)
    decoded = []
    for name, value in zip(order.fields, values, strict=True):
        if name == "published_at":
            decoded.append(_cursor_moment(value, token))
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            decoded.append(value)
        else:
            raise BadCursor(token)
    return decoded


def _cursor_moment(value: object, token: str) -> datetime:
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
        # Comparing needs an aware moment that exists in UTC too.
        if moment is None or moment.tzinfo is None:
            raise BadCursor(token)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise BadCursor(token) from exc


def _beyond(fields: tuple[str, ...], values: list, *, forward: bool) -> Q:
    """Rows after (forward) or before the cursor in descending order of ``fields``."""
    op = "lt" if forward else "gt"
    condition = Q()
    for i, name in enumerate(fields):
        step = Q(**{f"{name}__{op}": values[i]})
        for earlier, value in zip(fields[:i], values[:i], strict=True):
            step &= Q(**{earlier: value})
        condition |= step
    return condition


def paginate(queryset: QuerySet, order: Order, *, after: str = "", before: str = "") -> Page:
    descending = [f"-{name}" for name in order.fields]
    if before:
        values = decode_cursor(order, before)
        ascending = list(order.fields)
        rows = list(
            queryset.filter(_beyond(order.fields, values, forward=False)).order_by(*ascending)[
                : PAGE_SIZE + 1
            ]
        )
        has_more_before = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        return Page(
            items=rows,
            next_cursor=encode_cursor(order, rows[-1]) if rows else None,
            prev_cursor=encode_cursor(order, rows[0]) if rows and has_more_before else None,
        )
    qs = queryset.order_by(*descending)
    if after:
        qs = qs.filter(_beyond(order.fields, decode_cursor(order, after), forward=True))
    rows = list(qs[: PAGE_SIZE + 1])
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return Page(
        items=rows,
        next_cursor=encode_cursor(order, rows[-1]) if rows and has_more else None,
        prev_cursor=encode_cursor(order, rows[0]) if rows and after else None,
    )
