"""Limits on what one account or one client address may do in a window, counted in memcached.

Votes, questions asked, reports filed, pictures uploaded (here) and account emails
(accounts/throttles.py) are all counted by ``allow``. nginx already limits POSTs per client
address; these limits follow the account too, so neither many addresses nor a forged forwarding
header gives one person more attempts. Client addresses come from beebeta.client_ip, which
believes X-Forwarded-For only through TRUSTED_PROXIES. The counter of a fixed
window is created with ``add`` and raised with ``incr``, both atomic in memcached, so of many
simultaneous requests exactly the allowed number get through. With the cache down the limit
is not enforced: it may cost protection, never a vote.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from beebeta.client_ip import client_ip
from polls import cache_keys


def allow(*, scope: str, key: str, limit: int, window: int, now: float | None = None) -> bool:
    """Count one attempt of ``key``; True while it has made at most ``limit`` in this window."""
    bucket = int((time.time() if now is None else now) // window)
    counter = cache_keys.rate_limit(scope, key, bucket)
    if cache.add(counter, 1, window + 5):
        return True
    try:
        count = cache.incr(counter)
    except ValueError:
        # The counter expired between add and incr (start it again: this is its first
        # attempt), or the cache cannot be reached (let the vote through).
        cache.add(counter, 1, window + 5)
        return True
    return count <= limit


def allow_vote(*, user_id: int) -> bool:
    """Count one vote (or change) of the account; True while it is within VOTE_RATE_LIMIT."""
    return allow(
        scope="vote",
        key=str(user_id),
        limit=settings.VOTE_RATE_LIMIT,
        window=settings.VOTE_RATE_WINDOW_SECONDS,
    )


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` attempts counted under ``scope`` and ``key`` per window."""

    scope: str
    key: str
    limit: int


def refusal(limits: Iterable[Limit], *, window: int) -> int | None:
    """Count one attempt against each limit in turn; once one is passed, the seconds until
    its window ends (for Retry-After; the limits after it are not counted), else None."""
    for limit in limits:
        if not allow(scope=limit.scope, key=limit.key, limit=limit.limit, window=window):
            return window - int(time.time() % window)
    return None


def _per_account_and_client(
    request: HttpRequest, scope: str, per_account: int, per_client: int
) -> list[Limit]:
    return [
        Limit(f"{scope}:account", str(request.user.pk), per_account),
        Limit(f"{scope}:client", client_ip(request), per_client),
    ]


def question_refusal(request: HttpRequest) -> int | None:
    """Count one question about to be asked by the signed-in account (QUESTIONS_PER_*)."""
    limits = _per_account_and_client(
        request, "ask", settings.QUESTIONS_PER_ACCOUNT, settings.QUESTIONS_PER_CLIENT
    )
    return refusal(limits, window=settings.QUESTION_WINDOW_SECONDS)


def report_refusal(request: HttpRequest) -> int | None:
    """Count one report about to be filed by the signed-in account (REPORTS_PER_*)."""
    limits = _per_account_and_client(
        request, "report", settings.REPORTS_PER_ACCOUNT, settings.REPORTS_PER_CLIENT
    )
    return refusal(limits, window=settings.REPORT_WINDOW_SECONDS)


def upload_refusal(request: HttpRequest) -> int | None:
    """Count one picture about to be read for the signed-in account (UPLOADS_PER_*)."""
    limits = _per_account_and_client(
        request, "upload", settings.UPLOADS_PER_ACCOUNT, settings.UPLOADS_PER_CLIENT
    )
    return refusal(limits, window=settings.UPLOAD_WINDOW_SECONDS)
