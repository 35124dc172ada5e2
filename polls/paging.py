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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet, prefetch_related_objects
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


# Beebeta's own cursors are under 100 characters. Anything longer is refused before decoding,
# which bounds the work (a JSON array nested a thousand deep would raise RecursionError).
MAX_CURSOR_LENGTH = 200
# The largest value a BIGINT column holds: larger numbers are not ours either.
MAX_COUNT = 2**63 - 1


def decode_cursor(order: Order, token: str) -> list[datetime | int]:
    if len(token) > MAX_CURSOR_LENGTH:
        raise BadCursor(token[:MAX_CURSOR_LENGTH])
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor(token) from exc
    if not isinstance(values, list) or len(values) != len(order.fields):
        raise BadCursor(token)
    decoded: list[datetime | int] = []
    for name, value in zip(order.fields, values, strict=True):
        if name == "published_at":
            decoded.append(_cursor_moment(value, token))
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
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


def _read(
    queryset: QuerySet,
    order: Order,
    condition: Q,
    *,
    forward: bool,
    parts: Sequence[Q],
    prefetch: Sequence[str],
) -> list:
    """Up to PAGE_SIZE + 1 rows beyond ``condition``, in descending order of ``order.fields``
    when ``forward``, ascending otherwise.

    With ``parts``, each part is read on its own and the short lists are merged. An index on
    (status, sort fields) gives one status's rows in order, so `status = 'published'` LIMIT 21
    reads 21 index entries; `status IN ('published', 'closed')` cannot be read in sort order
    from it, and MySQL would sort every public row to return 21.
    """
    ordering = [f"-{name}" if forward else name for name in order.fields]
    limit = PAGE_SIZE + 1
    selected = queryset.filter(condition).order_by(*ordering)
    if not parts:
        rows = list(selected[:limit])
    else:
        rows = [row for part in parts for row in selected.filter(part)[:limit]]
        rows.sort(key=lambda row: tuple(getattr(row, name) for name in order.fields))
        if forward:
            rows.reverse()
        rows = rows[:limit]
    # Once for the merged page, not once per part.
    prefetch_related_objects(rows, *prefetch)
    return rows


def paginate(
    queryset: QuerySet,
    order: Order,
    *,
    after: str = "",
    before: str = "",
    parts: Sequence[Q] = (),
    prefetch: Sequence[str] = (),
) -> Page:
    """One page of ``queryset`` (the union of ``parts`` of it, when given) after or before a
    cursor; ``prefetch`` lookups are fetched for the page's rows."""
    if before:
        values = decode_cursor(order, before)
        beyond = _beyond(order.fields, values, forward=False)
        rows = _read(queryset, order, beyond, forward=False, parts=parts, prefetch=prefetch)
        has_more_before = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        return Page(
            items=rows,
            next_cursor=encode_cursor(order, rows[-1]) if rows else None,
            prev_cursor=encode_cursor(order, rows[0]) if rows and has_more_before else None,
        )
    beyond = _beyond(order.fields, decode_cursor(order, after), forward=True) if after else Q()
    rows = _read(queryset, order, beyond, forward=True, parts=parts, prefetch=prefetch)
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return Page(
        items=rows,
        next_cursor=encode_cursor(order, rows[-1]) if rows and has_more else None,
        prev_cursor=encode_cursor(order, rows[0]) if rows and after else None,
    )
