"""Mixpanel analytics, kept off the request path.

``track()`` builds an event and puts it on a bounded queue; a daemon thread in
each process sends the queue in batches through mixpanel's BufferedConsumer.
A slow, failing or unreachable Mixpanel therefore costs a request one
``put_nowait``: when the queue is full the event is dropped and counted, and a
failed batch is counted and given up. With no MIXPANEL_TOKEN nothing is
queued, no thread starts and no cookie is set.

Events carry a distinct id (the user's id, or a random id kept in the
first-party ``bb_aid`` cookie), the user's group and, for interactions with a
question, its id, the choice ids and the tag slugs. Never an email, a name, a
username, an IP address or a URL.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import mixpanel
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from accounts.user_groups import UserGroup, user_group

logger = logging.getLogger(__name__)

COOKIE_NAME = "bb_aid"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Mixpanel's /track takes at most 50 events a request (BufferedConsumer's cap too).
BATCH_SIZE = 50
# How long the sender waits for a batch to fill before sending what it has.
BATCH_WAIT_SECONDS = 1.0
# Per HTTP request to Mixpanel; the sender thread is the only one that waits.
SEND_TIMEOUT_SECONDS = 3
SEND_RETRIES = 1
# Properties that must never leave, whoever passes them in: Mixpanel
# geolocates `ip` and `$ip`, the others are personal or carry query strings.
_FORBIDDEN_PROPERTIES = frozenset(
    {"ip", "$ip", "email", "$email", "name", "$name", "username", "url", "$current_url"}
)
# Every event Beebeta sends, by the seed's two campaigns (each event says its campaign).
CAMPAIGNS = {
    "Page Viewed": "site traffic",
    "Signed Up": "site traffic",
    "Account Activated": "site traffic",
    "Logged In": "site traffic",
    "Question Viewed": "question and choice interactions",
    "Vote Cast": "question and choice interactions",
    "Vote Changed": "question and choice interactions",
    "Question Asked": "question and choice interactions",
    "Question Reported": "question and choice interactions",
    "Share Link Copied": "question and choice interactions",
}
_ANONYMOUS_ID = re.compile(r"^[0-9a-f]{32}$")
# Routes that are not the site's pages: the admin and the debug toolbar.
_UNTRACKED_NAMESPACES = frozenset({"admin", "djdt"})
# Embeds are shown inside other sites' pages: no page view, so no visitor id and no cookie.
_UNTRACKED_ROUTES = frozenset({"polls:embed"})
_LOG_EVERY_SECONDS = 60


def _quietly(function: Callable[..., None]) -> Callable[..., None]:
    """Analytics must never fail a request: log whatever went wrong and carry on."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except Exception:
            logger.exception("analytics: event not queued")

    return wrapper


def enabled() -> bool:
    return bool(settings.MIXPANEL_TOKEN)


@_quietly
def track(
    request: HttpRequest | None,
    event: str,
    properties: Mapping[str, Any] | None = None,
    *,
    user: Any = None,
) -> None:
    """Queue ``event`` for the visitor of ``request`` (or for ``user``); never blocks."""
    if not enabled():
        return
    distinct_id, group = _visitor(request, user)
    clean = {k: v for k, v in (properties or {}).items() if k not in _FORBIDDEN_PROPERTIES}
    clean["user_group"] = group
    clean["campaign"] = CAMPAIGNS.get(event, "other")
    _sender().client.track(distinct_id, event, clean)


@_quietly
def track_question(
    request: HttpRequest | None,
    event: str,
    question: Any,
    *,
    choice_ids: Iterable[int] | None = None,
    **properties: Any,
) -> None:
    """An interaction with a question: its id, its tags' slugs and the choices involved."""
    if not enabled():
        return
    # Prefetched (and cached with the question) on the question page and the
    # vote; one query elsewhere, and only when a token is set.
    properties["question_id"] = question.pk
    properties["tags"] = sorted(tag.slug for tag in question.tags.all())
    if choice_ids is not None:
        properties["choice_ids"] = list(choice_ids)
    track(request, event, properties)


def _visitor(request: HttpRequest | None, user: Any) -> tuple[str, str]:
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.pk), user_group(user)
    return _anonymous_id(request), UserGroup.ANONYMOUS.value


class _VisitorRequest(HttpRequest):
    """A request once _anonymous_id has settled its visitor's id (read back by the middleware)."""

    analytics_id: str


def _anonymous_id(request: HttpRequest | None) -> str:
    if request is None:
        return uuid.uuid4().hex
    known = getattr(request, "analytics_id", None)
    if known is None:
        cookie = request.COOKIES.get(COOKIE_NAME, "")
        # The middleware sets the cookie on the response when this is new.
        known = cookie if _ANONYMOUS_ID.match(cookie) else uuid.uuid4().hex
        cast(_VisitorRequest, request).analytics_id = known
    return known


class AnalyticsMiddleware:
    """Page views by route name, and the anonymous visitor's cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not enabled():
            return response
        route = _page_view_route(request, response)
        if route is not None:
            track(request, "Page Viewed", {"route": route})
        visitor_id = getattr(request, "analytics_id", None)
        if visitor_id is not None and visitor_id != request.COOKIES.get(COOKIE_NAME):
            response.set_cookie(
                COOKIE_NAME,
                visitor_id,
                max_age=COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def _page_view_route(request: HttpRequest, response: HttpResponse) -> str | None:
    """The route's name if the response is a page view, else None."""
    match = getattr(request, "resolver_match", None)
    if (
        request.method == "GET"
        and response.status_code == 200
        and match is not None
        and not _UNTRACKED_NAMESPACES.intersection(match.namespaces)
        and match.view_name not in _UNTRACKED_ROUTES
        and response.get("Content-Type", "").startswith("text/html")
    ):
        return match.view_name
    return None


# --- Sending ------------------------------------------------------------------------------


class _Sender:
    """One per process: the queue, the thread that empties it, and the counters.

    It is also the ``mixpanel.Mixpanel`` client's consumer, so the event is
    serialised (with its time and $insert_id) in the request, and the thread
    only moves strings.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.queue: queue.Queue[str] = queue.Queue(maxsize=settings.MIXPANEL_QUEUE_SIZE)
        self.client = mixpanel.Mixpanel(settings.MIXPANEL_TOKEN, consumer=self)
        self.events_url = settings.MIXPANEL_EVENTS_URL or None
        self.counts = {"sent": 0, "dropped": 0, "failed": 0}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._logged_at = 0.0

    # The consumer interface of mixpanel.Mixpanel.
    def send(self, endpoint: str, json_message: str, api_key=None, api_secret=None) -> None:
        self._start_once()
        try:
            self.queue.put_nowait(json_message)
        except queue.Full:
            self._count("dropped", 1)

    def _start_once(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="mixpanel-sender", daemon=True)
                thread.start()
                self._thread = thread

    def _count(self, counter: str, number: int) -> None:
        with self._lock:
            self.counts[counter] += number
            now = time.monotonic()
            quiet = counter == "sent" or now - self._logged_at < _LOG_EVERY_SECONDS
            if not quiet:
                self._logged_at = now
        if not quiet:
            logger.warning("analytics: events %s so far: %s", counter, self.counts)

    def _run(self) -> None:
        consumer = None
        while not self._stopping.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            try:
                consumer = consumer or self._consumer()
                for message in batch:
                    consumer.send("events", message)
                consumer.flush()
            except Exception:
                # The consumer keeps a batch it could not send and would send
                # it again with every later one: start a new one instead.
                consumer = None
                self._count("failed", len(batch))
            else:
                self._count("sent", len(batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    def _consumer(self) -> mixpanel.BufferedConsumer:
        return mixpanel.BufferedConsumer(
            max_size=BATCH_SIZE,
            events_url=self.events_url,
            request_timeout=SEND_TIMEOUT_SECONDS,
            retry_limit=SEND_RETRIES,
        )

    def _next_batch(self) -> list[str]:
        try:
            # Wake up now and then to notice a stop.
            batch = [self.queue.get(timeout=1.0)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + BATCH_WAIT_SECONDS
        while len(batch) < BATCH_SIZE:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def wait_until_sent(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self) -> None:
        self._stopping.set()


_current: _Sender | None = None
_current_lock = threading.Lock()


def _sender() -> _Sender:
    global _current
    sender = _current
    # A forked worker must never use its parent's queue: the thread that
    # empties it did not survive the fork.
    if sender is None or sender.pid != os.getpid():
        with _current_lock:
            if _current is None or _current.pid != os.getpid():
                _current = _Sender()
            sender = _current
    return sender


def counters() -> dict[str, int]:
    """Events sent, dropped (queue full) and failed (Mixpanel did not take them),
    and the number waiting, in this process since it started (or was reset)."""
    sender = _current
    if sender is None or sender.pid != os.getpid():
        return {"queued": 0, "sent": 0, "dropped": 0, "failed": 0}
    with sender._lock:
        return {"queued": sender.queue.qsize(), **sender.counts}


def flush(timeout: float = 5.0) -> bool:
    """Wait up to ``timeout`` seconds until every queued event has been sent or given up."""
    sender = _current
    if sender is None or sender.pid != os.getpid() or sender._thread is None:
        return True
    return sender.wait_until_sent(timeout)


def reset() -> None:
    """Forget the queue and counters; the next event starts a new sender."""
    global _current
    if _current is not None and _current.pid == os.getpid():
        _current.stop()
    _current = None


def _after_fork_in_child() -> None:
    global _current, _current_lock
    # The parent's lock may have been held at the fork; its thread is gone.
    _current_lock = threading.Lock()
    _current = None


os.register_at_fork(after_in_child=_after_fork_in_child)
# gunicorn workers exit through sys.exit: send what is queued, briefly.
atexit.register(flush, 2.0)


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    if setting.startswith("MIXPANEL_"):
        reset()
