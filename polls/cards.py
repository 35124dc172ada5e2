"""A signed-in visitor's own mark on the cards of a list that is cached for everyone.

The rendered rows of a list page are shared by every visitor, so they cannot say "you voted".
Each card carries a marker where that goes instead; ``mark_voted`` fills it in for the
questions the visitor voted on and removes the others, so no page ever shows a marker.
"""

from __future__ import annotations

import re
from collections.abc import Container

from django.utils.safestring import SafeString, mark_safe

_MARKER = re.compile(r"<!--voted:(\d+)-->")
VOTED = '<span class="sep"><span class="badge badge-voted">you voted</span></span>'


def marker(question_id: int) -> SafeString:
    return mark_safe(f"<!--voted:{int(question_id)}-->")  # noqa: S308  (an integer only)


def mark_voted(html: SafeString, voted: Container[int]) -> SafeString:
    """Rendered rows ``html`` with "you voted" on the cards of the questions in ``voted``."""
    marked = _MARKER.sub(lambda found: VOTED if int(found[1]) in voted else "", html)
    return mark_safe(marked)  # noqa: S308  (safe rows, with markers replaced by a constant)
