"""Beebeta's settings with no cache at all: every page is built from MySQL on every request.

The benchmark's growth figures use it to measure what a page costs when it has to be rebuilt,
which warm pages (read from memcached) would hide. Sessions then come from MySQL too, no
rendered part of a page is reused, and nginx keeps no anonymous page.
"""

from beebeta.settings import *  # noqa: F403

_NO_CACHE = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
CACHES = {"default": _NO_CACHE, "fragments": _NO_CACHE}
EDGE_CACHE_SECONDS = 0
