"""The memcached cache backend Beebeta runs in production."""

from __future__ import annotations

from django.core.cache.backends.memcached import PyMemcacheCache


class PersistentPyMemcacheCache(PyMemcacheCache):
    """PyMemcacheCache that keeps its connections between requests.

    Django's memcached backends disconnect every node when a request finishes.
    With pymemcache's HashClient that also throws away which nodes were marked
    dead, so a dead node would cost a connect timeout on every request instead
    of once per ``dead_timeout``. Connections are per thread, so keeping them
    is safe.
    """

    def close(self, **kwargs: object) -> None:
        pass
