"""Sentry error reporting: configured from settings, scrubbed of personal data.

Events carry the route, the stack trace (without local variables), the user's
id (nothing else about them) and the request id of ``beebeta.request_log``.
Everything else that could identify a person or open an account is removed
before an event leaves: cookies, IP addresses, emails, passwords, CSRF tokens,
session ids, Authorization headers, request bodies, and the values of query
parameters and URL parts with sensitive names.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sentry_sdk
from django.db import DatabaseError
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.types import DataCollectionUserOptions, Event, Hint

from beebeta.request_log import current_request, known_user_id

_ROOT = Path(__file__).resolve().parent.parent
FILTERED = "[Filtered]"
# Query parameters and URL parts whose values are secrets or personal data
# (password reset links, activation keys, emails typed into a search box...).
_SENSITIVE_NAME = re.compile(
    r"pass|secret|token|key|auth|sig|code|session|csrf|email|mail|uid|user|name|phone", re.I
)
# Headers that carry credentials, the client's address, or other pages' URLs.
_PRIVATE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-csrftoken",
        "x-forwarded-for",
        "x-real-ip",
        "forwarded",
        "referer",
    }
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Never traced: the load balancer's check and static files.
_UNTRACED_PREFIXES = ("/healthz", "/static/")


DATA_COLLECTION: DataCollectionUserOptions = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "denylist", "terms": sorted(_PRIVATE_HEADERS)}},
    # Form bodies are passwords, emails and free text.
    "http_bodies": [],
    "url_query_params": {"mode": "denylist", "terms": ["mail", "user", "name", "code", "sig"]},
    # Locals hold requests, forms and users whose values carry emails,
    # usernames and query strings; no scrubbing by name can catch those.
    "stack_frame_variables": False,
    "database_query_data": False,
    "queues": False,
    "graphql": {"document": False, "variables": False},
    "gen_ai": {"inputs": False, "outputs": False},
}


def git_revision() -> str:
    try:
        result = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    if not dsn:
        return
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or git_revision() or None,
        integrations=[DjangoIntegration(transaction_style="url")],
        # What sentry-sdk collects by itself; `send_default_pii` (off unless
        # set) is deprecated in its favour. The user's id is added below.
        data_collection=DATA_COLLECTION,
        before_send=scrub_error,
        before_send_transaction=scrub_transaction,
        traces_sampler=traces_sampler_at(traces_sample_rate),
    )


def traces_sampler_at(rate: float) -> Callable[[dict[str, Any]], float]:
    def sampler(context: dict[str, Any]) -> float:
        path = (context.get("wsgi_environ") or {}).get("PATH_INFO", "")
        if path.startswith(_UNTRACED_PREFIXES):
            return 0.0
        # An incoming sentry-trace header's decision is not followed: any
        # client could send one and have every request it makes traced.
        return rate

    return sampler


def scrub_error(event: Event, hint: Hint) -> Event:
    return _scrub(event, hint, look_up_user=True)


def scrub_transaction(event: Event, hint: Hint) -> Event:
    return _scrub(event, hint, look_up_user=False)


def _scrub(event: Event, hint: Hint, *, look_up_user: bool) -> Event:
    # The request id is a tag on the request's scope (beebeta.request_log).
    request = current_request()
    if request is not None:
        user_id = _user_id(request, hint) if look_up_user else known_user_id(request)
    else:
        user_id = (event.get("user") or {}).get("id")
    event["user"] = {"id": str(user_id)} if user_id is not None else {}
    if isinstance(event.get("request"), dict):
        _scrub_request(event["request"], request)
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = _EMAIL.sub(FILTERED, exception["value"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict) and isinstance(logentry.get("message"), str):
        logentry["message"] = _EMAIL.sub(FILTERED, logentry["message"])
    return event


def _user_id(request: Any, hint: Hint) -> Any:
    """The user's id, from the user if the request loaded it, else from the session.

    Never when the database failed: the session may need it, and the report
    must not wait on it."""
    from django.contrib.auth import SESSION_KEY  # not at import: settings.py imports this module

    known = known_user_id(request)
    if known is not None:
        return known
    exc_info = hint.get("exc_info") or (None, None, None)
    session = getattr(request, "session", None)
    if session is None or isinstance(exc_info[1], DatabaseError):
        return None
    try:
        return session.get(SESSION_KEY)
    except Exception:
        return None


def _scrub_request(data: dict[str, Any], request: Any) -> None:
    for private in ("cookies", "data", "env"):
        data.pop(private, None)
    headers = data.get("headers")
    if isinstance(headers, dict):
        data["headers"] = {k: v for k, v in headers.items() if k.lower() not in _PRIVATE_HEADERS}
    query = data.get("query_string")
    if isinstance(query, str) and query:
        data["query_string"] = _scrub_query(query)
    url = data.get("url")
    if isinstance(url, str):
        data["url"] = _scrub_url(url, request)


def _scrub_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode(
        [(k, FILTERED if _SENSITIVE_NAME.search(k) else _EMAIL.sub(FILTERED, v)) for k, v in pairs]
    )


def _scrub_url(url: str, request: Any) -> str:
    parts = urlsplit(url)
    path = parts.path
    match = getattr(request, "resolver_match", None)
    for name, value in match.kwargs.items() if match else ():
        # /accounts/password/reset/<uidb64>/<token>/ and the like.
        if _SENSITIVE_NAME.search(name) and isinstance(value, str) and value:
            path = path.replace(value, FILTERED)
    query = _scrub_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))
