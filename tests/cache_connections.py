"""Closing this thread's memcached connections, which beebeta.cache keeps open on purpose."""

from __future__ import annotations

from django.core.cache import caches
from django.core.cache.backends.memcached import BaseMemcachedCache


def close_memcached_connections() -> None:
    """Disconnect every memcached cache this thread has opened.

    beebeta.cache keeps connections for a thread's life (its close() does nothing), and Django
    drops its cache objects whenever a test changes CACHES: their sockets then stay open until
    the garbage collector finds them. Over a suite that is hundreds of idle connections held
    against memcached's limit (1024 by default), past which it refuses new ones, and a refused
    connection lets a rate-limited request through.
    """
    for cache in caches.all(initialized_only=True):
        if isinstance(cache, BaseMemcachedCache):
            BaseMemcachedCache.close(cache)
