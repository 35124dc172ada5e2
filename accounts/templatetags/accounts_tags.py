from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import ngettext

register = template.Library()

_UNITS = (
    (86400, lambda n: ngettext("%d day", "%d days", n) % n),
    (3600, lambda n: ngettext("%d hour", "%d hours", n) % n),
    (60, lambda n: ngettext("%d minute", "%d minutes", n) % n),
)


@register.filter
def duration(value: timedelta | int | None) -> str:
    """A length of time in words, to the minute (rounded up), for pages and
    plain-text emails alike: ``timedelta(minutes=90)`` or ``5400`` → "1 hour 30 minutes"."""
    if value is None or value == "":
        return ""
    seconds = value.total_seconds() if isinstance(value, timedelta) else int(value)
    remaining = max(1, -(-int(seconds) // 60)) * 60
    parts = []
    for size, word in _UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(word(count))
    return " ".join(parts)
