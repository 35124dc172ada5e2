"""Rendered parts of the question page, kept in each worker's memory.

A warm question page has its data from one memcached round trip, but rendering the question's
head, its choices as radio buttons or checkboxes, and the results table took most of its time.
Those parts depend only on the question and its counts, which carry a stamp made each time they
are read from MySQL and cached (``Question.render_stamp``, ``Counts.stamp``): a part rendered
for one stamp is right for as long as that cached data is, and a change to the question or a
vote gives new data with a new stamp, so nothing here is ever invalidated or stale beyond what
memcached holds.

The parts live in the "fragments" cache, a local-memory cache in each worker (settings.CACHES):
no network round trip, nothing shared between app servers, and lost with the worker at no cost
but a rendering. What differs per visitor (their choice, the CSRF token, the form's errors, the
header) is rendered apart, or not cached at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache import caches
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from polls import cache_keys

ALIAS = "fragments"
# Longer than any cached question or count lives, so a part outlives none of the data it shows.
FRAGMENT_SECONDS = 600


def render(
    key: tuple[Any, ...], template: str, context: Callable[[], dict[str, Any]]
) -> SafeString:
    """``template`` rendered with ``context()``, reused for the same ``key``.

    ``key`` must name everything the part shows: the stamps of the data it comes from and any
    per-visitor or time-dependent value. ``context`` is called only when the part is rendered.
    """
    name = cache_keys.fragment(*key)
    fragments = caches[ALIAS]
    html = fragments.get(name)
    if html is None:
        html = render_to_string(template, context())
        fragments.set(name, html, FRAGMENT_SECONDS)
    return mark_safe(html)  # noqa: S308  (rendered with autoescape by render_to_string)
