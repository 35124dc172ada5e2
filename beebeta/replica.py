"""Reads that tolerate lag, from the MySQL read replica (``DATABASE_REPLICA_URL``).

Everything reads from the primary unless four things hold at once:

1. the code asked for it: a view decorated with ``lag_tolerant`` (lists, tag pages, search,
   insights) or a read passed to ``read_lag_tolerant`` (a question's history);
2. the rows are shared ones: models of the polls app other than ballots and votes. A person's
   own rows (their ballots, votes, account, session, held votes, lockouts) never come from the
   replica, so nobody ever sees their own vote missing;
3. the request is not pinned: it is not a POST (or another unsafe method), and the browser did
   not send one within ``REPLICA_PIN_SECONDS``, which the ``bb_primary`` cookie marks;
4. the replica is usable: its replication threads run and it is at most
   ``REPLICA_MAX_LAG_SECONDS`` behind, measured at most every ``REPLICA_CHECK_SECONDS`` per
   process. A replica that is down, stopped or further behind sends everything to the primary
   until a later check finds it back.

The pin lasts the lag bound plus the check interval: the replica a pinned reader could reach
once the pin ends was, at its last check, at most the bound behind, so it holds that reader's
write. A read that fails on the replica (it died since the check) is run again on the primary,
and the replica is left alone until the next check.

These few lines follow Django's documentation on database routers rather than a routing
library: the libraries route every read to the replica and pin after writes, while Beebeta
needs the opposite default (the primary unless a read says it tolerates lag), the per-model
rule above and a lag check, which is where the code would be anyway.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
PIN_COOKIE = "bb_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The rows of one person: never read from the replica.
OWN_ROWS = frozenset({"polls.ballot", "polls.vote"})

T = TypeVar("T")

_lag_tolerant: ContextVar[bool] = ContextVar("lag_tolerant", default=False)
_pinned: ContextVar[bool] = ContextVar("pinned_to_primary", default=False)


class _Health:
    """The replica's last known state in this process."""

    usable = False
    checked_at = float("-inf")


def configured() -> bool:
    return REPLICA in settings.DATABASES


def forget_health() -> None:
    """Check the replica again before the next read (tests, and after a failed read)."""
    _Health.checked_at = float("-inf")


def _mark_down() -> None:
    _Health.usable = False
    _Health.checked_at = time.monotonic()
    try:
        connections[REPLICA].close()
    except DatabaseError:
        pass


def replication_lag() -> float | None:
    """Seconds the replica is behind, or None when it cannot tell (down, threads stopped, not a
    replica, or no REPLICATION CLIENT privilege)."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SHOW SLAVE STATUS")
            row = cursor.fetchone()
            columns = [column[0] for column in cursor.description or ()]
    except DatabaseError as error:
        logger.warning("replica unreachable: %s", error)
        try:
            connections[REPLICA].close()
        except DatabaseError:
            pass
        return None
    if row is None:
        return None
    status = dict(zip(columns, row, strict=False))
    lag = status.get("Seconds_Behind_Master", status.get("Seconds_Behind_Source"))
    return None if lag is None else float(lag)


def usable() -> bool:
    now = time.monotonic()
    if now - _Health.checked_at < settings.REPLICA_CHECK_SECONDS:
        return _Health.usable
    _Health.checked_at = now
    lag = replication_lag()
    was = _Health.usable
    _Health.usable = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    if was and not _Health.usable:
        bound = settings.REPLICA_MAX_LAG_SECONDS
        logger.warning("replica not used: lag %s (bound %ss)", lag, bound)
    return _Health.usable


class ReplicaRouter:
    """DATABASE_ROUTERS entry: reads as the module docstring says; every write, and every
    migration, on the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        if (
            _lag_tolerant.get()
            and not _pinned.get()
            and model._meta.app_label == "polls"  # type: ignore[attr-defined]
            and model._meta.label_lower not in OWN_ROWS  # type: ignore[attr-defined]
            and usable()
        ):
            return REPLICA
        # Explicit, so an object read from the replica never leads its related reads there.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The replica holds the primary's rows: an object read there may stand for its row.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def read_lag_tolerant(read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``read(*args, **kwargs)`` with its shared rows from the replica when it is usable; run
    again on the primary if the replica fails under it."""
    if not configured() or _lag_tolerant.get():
        return read(*args, **kwargs)
    token = _lag_tolerant.set(True)
    try:
        return read(*args, **kwargs)
    except DatabaseError:
        if not _Health.usable:
            raise
        logger.warning("a read failed on the replica; reading from the primary", exc_info=True)
        _mark_down()
    finally:
        _lag_tolerant.reset(token)
    return read(*args, **kwargs)


def lag_tolerant(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view whose shared rows may come from the replica (read_lag_tolerant)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return read_lag_tolerant(view, request, *args, **kwargs)

    return wrapper


class PinToPrimaryMiddleware:
    """Pins a request to the primary when it writes, or when its browser wrote within
    REPLICA_PIN_SECONDS (the cookie this sets after every unsafe request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        writes = request.method not in SAFE_METHODS
        token = _pinned.set(writes or PIN_COOKIE in request.COOKIES)
        try:
            response = self.get_response(request)
        finally:
            _pinned.reset(token)
        if writes and configured():
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
