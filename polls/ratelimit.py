"""A per-user limit on votes, counted in memcached.

nginx already limits POSTs per client address; this limit follows the account, so neither many
addresses nor a forged forwarding header gives one voter more attempts. The counter of a fixed
window is created with ``add`` and raised with ``incr``, both atomic in memcached, so of many
simultaneous requests exactly the allowed number get through. With the cache down the limit
is not enforced: it may cost protection, never a vote.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

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
