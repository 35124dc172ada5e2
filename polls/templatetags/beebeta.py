"""Template filters and tags for Beebeta's pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@lru_cache(maxsize=256)
def _link(name: str, urlconf: str, prefix: str) -> str | None:
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return None


@register.simple_tag
def link(name: str, optional: bool = False) -> str:
    """{% link 'polls:home' %}: the address of a view that takes no arguments, as {% url %}
    gives it. With ``optional=True`` a view that does not exist (an app switched off) gives ""
    instead of an error.

    Reversed once per URL configuration and script prefix, not on every page: every page's
    header links to a dozen views, and reversing them was a sixth of a question page's time.
    """
    address = _link(name, str(get_urlconf() or settings.ROOT_URLCONF), get_script_prefix())
    if address is None:
        if optional:
            return ""
        raise NoReverseMatch(f"no view named {name!r}")
    return address


@register.filter
def ago(moment: datetime | None) -> str:
    """'3 days ago': one unit is enough in a list, and reads faster than two."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"
