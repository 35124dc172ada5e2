"""Names of everything Beebeta keeps in memcached, in one place.

Keys about a question are derived from its slug, which never changes once
published, so a question page can fetch the question, its counts and the
visitor's ballot in one round trip. Slugs may be long and non-ASCII, so they
are hashed to stay inside memcached's 250-byte key limit.
"""

from __future__ import annotations

import hashlib


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


# The digest in braces groups a question's keys on one memcached node (beebeta/cache.py).


def question(slug: str) -> str:
    return f"q:{{{_digest(slug)}}}"


def counts(slug: str) -> str:
    return f"c:{{{_digest(slug)}}}"


def ballot(user_id: int, slug: str) -> str:
    return f"b:{user_id}:{{{_digest(slug)}}}"


def voted(user_id: int) -> str:
    """The ids of the questions a member has voted on, for "you voted" on list cards."""
    return f"v:{user_id}"


def tag(slug: str) -> str:
    return f"t:{_digest(slug)}"


def ranking_refresh(question_id: int) -> str:
    return f"rank:{question_id}"


def list_page(*parts: str) -> str:
    return f"list:{_digest('|'.join(parts))}"


TAG_CLOUD = "tags:all"
