"""Names of everything Beebeta keeps in its caches, in one place.

Keys about a question are derived from its slug, which never changes once
published, so a question page can fetch the question, its counts and the
visitor's ballot in one round trip. Slugs may be long and non-ASCII, so they
are hashed to stay inside memcached's 250-byte key limit.
"""

from __future__ import annotations

import hashlib


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _grouped(prefix: str, slug: str) -> str:
    # The digest in braces groups a question's keys on one memcached node (beebeta/cache.py).
    return f"{prefix}:{{{_digest(slug)}}}"


def question(slug: str) -> str:
    """A reads.CachedQuestion (named apart from the bare Question once cached under "q", so
    that app servers of either release never read each other's objects)."""
    return _grouped("qs", slug)


def counts(slug: str) -> str:
    return _grouped("c", slug)


def history(slug: str) -> str:
    """A history.QuestionHistory: the question's completed days and released group splits."""
    return _grouped("h", slug)


def insight(slug: str) -> str:
    """An integrity.QuestionInsight: the question's integrity figures and co-voting."""
    return _grouped("i", slug)


def ballot(user_id: int, slug: str) -> str:
    return _grouped(f"b:{user_id}", slug)


def activity(scope: str, zone: str) -> str:
    """A public activity heatmap (polls.insights.figures.public_heatmap) of a question or a tag,
    in one time zone."""
    return f"act:{_digest(scope + '|' + zone)}"


def voted(user_id: int) -> str:
    """The ids of the questions a member has voted on, for "you voted" on list cards."""
    return f"v:{user_id}"


def user(user_id: object) -> str:
    """A signed-in visitor's account, without its password (accounts/session_user.py)."""
    return f"u:{user_id}"


def tag(slug: str) -> str:
    return f"t:{_digest(slug)}"


def list_page(*parts: str) -> str:
    return f"list:{_digest('|'.join(parts))}"


TAG_CLOUD = "tags:all"


def fragment(*parts: object) -> str:
    """A rendered part of a page in the worker-local "fragments" cache (polls.fragments),
    named by everything it shows."""
    return _digest(repr(parts))


# --- Question views, counted for insights (polls.insights.counting) ---------------------------
# Memcached cannot list keys: each hour (numbered from the epoch) keeps an index of its
# counters in numbered slots, and a marker once every counter of it has been flushed.


def view_counter(hour: int, question_id: int, group: str) -> str:
    return f"views:{hour}:{question_id}:{group}"


def view_slot_count(hour: int) -> str:
    return f"views:{hour}:slots"


def view_slot(hour: int, slot: int) -> str:
    return f"views:{hour}:slot:{slot}"


def views_flushed(hour: int) -> str:
    return f"views:{hour}:done"


VIEW_FLUSH_LOCK = "views:flush-lock"


# --- Rate limits (polls.ratelimit) -----------------------------------------------------------


def rate_limit(scope: str, key: str, window_number: int) -> str:
    return f"rl:{scope}:{key}:{window_number}"


# --- Open data (polls.open_data) -------------------------------------------------------------

# The newest complete dump's manifest, as the /data/ page links it ({} when there is none).
LATEST_DUMP = "open-data:latest"


def whole_response(host: str, path: str) -> str:
    """A feed's or sitemap's body and content type (polls.whole_responses)."""
    return f"resp:{_digest(host + '|' + path)}"
