"""The load balancer's health check, answered before the rest of the middleware.

It sits first so that a check addressed to the instance's own IP (which is
not in ALLOWED_HOSTS) is not refused, sessions and auth are never touched, and
the answer depends on the database alone.

memcached is reported but never decides anything, and never makes the check
slow either: its probe runs in a thread of its own and the check waits for it
at most CACHE_PROBE_WAIT_SECONDS. A hanging node would otherwise add its
timeout to the answer, and a load balancer that gives up on slow answers would
take a healthy instance out of service because of a cache it does not need.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, cast

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string

PATH = "/healthz"
# Far below any load balancer's check timeout (the local stack's is 0.5 s), far above a
# memcached round trip (well under a millisecond).
CACHE_PROBE_WAIT_SECONDS = 0.1


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # Drop the broken connection so the next request reconnects.
        connection.close_if_unusable_or_obsolete()
        return "unreachable"
    return "ok"


def _probe_client(config: dict[str, Any]) -> BaseCache:
    """A cache client for the probe alone. The request threads' clients skip a failed node for
    MEMCACHED_DEAD_SECONDS, which spares pages its timeout but would report a node that is back
    as unreachable for that long; this one tries a failed node again at every check."""
    params = dict(config)
    backend = import_string(params.pop("BACKEND"))
    if issubclass(backend, BaseMemcachedCache) and "retry_attempts" in params.get("OPTIONS", {}):
        params["OPTIONS"] = {**params["OPTIONS"], "retry_timeout": 0}
    return backend(params.pop("LOCATION", ""), params)


def _probe(cache: BaseCache) -> str:
    probe = secrets.token_hex(8)
    try:
        cache.set("healthz", probe, 30)
        return "ok" if cache.get("healthz") == probe else "unreachable"
    except Exception:  # noqa: BLE001  (any cache failure is only reported)
        return "unreachable"


class _CacheProbe:
    """One probe at a time, in one long-lived thread per process.

    A probe still stuck on a hanging node is waited for again by the next check rather than
    joined by a second one: probes never pile up, and neither do threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._running: Future[str] | None = None
        # The probe's client and the settings it was made from, used by the probe's thread
        # alone: its connections are kept from one check to the next (a load balancer checks
        # every few seconds; a connection each time would churn memcached's).
        self._client: tuple[str, BaseCache] | None = None

    def start(self) -> Future[str]:
        """The probe under way, or a new one."""
        with self._lock:
            if self._pool is None:
                # Made on first use, in the process that serves (gunicorn forks its workers).
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="healthz-cache")
            if self._running is None or self._running.done():
                self._running = self._pool.submit(self._run)
            return self._running

    def _run(self) -> str:
        config = cast(dict[str, Any], settings.CACHES[DEFAULT_CACHE_ALIAS])
        made_from = repr(config)
        if self._client is None or self._client[0] != made_from:
            if self._client is not None:
                _disconnect(self._client[1])
            self._client = (made_from, _probe_client(config))
        return _probe(self._client[1])


def _disconnect(cache: BaseCache) -> None:
    if isinstance(cache, BaseMemcachedCache):
        # beebeta.cache's close() keeps connections on purpose; this client is done, so
        # Django's own close() disconnects it.
        BaseMemcachedCache.close(cache)


_cache_probe = _CacheProbe()


def cache_state(probe: Future[str] | None = None) -> str:
    """ "ok", "unreachable", or "slow" when memcached did not answer in time."""
    try:
        return (probe or _cache_probe.start()).result(timeout=CACHE_PROBE_WAIT_SECONDS)
    except FutureTimeout:
        return "slow"


def health_response() -> JsonResponse:
    # The cache is probed while the database is: the wait for it mostly overlaps.
    probe = _cache_probe.start()
    database = database_state()
    body = {
        "status": "ok" if database == "ok" else "unavailable",
        "database": database,
        "cache": cache_state(probe),
    }
    response = JsonResponse(body, status=200 if database == "ok" else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
