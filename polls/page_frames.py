"""The question page around its parts, rendered once per kind of reader and reused.

polls.fragments renders a question's parts (its head, its options, its results...) once per
stamp, but the page around them (the layout, the header, the share panel, the forms) was still
rendered for every request, and was most of a warm page's time. That frame depends on the
question (its stamp), on which parts there are, and on a few things about the reader: signed in
or not, staff or not, the question's author or not, the time zone, and the share card. It is
rendered once for each such combination, with a slot where each part, the CSRF token, the
member's name and the messages go, kept in the worker-local "fragments" cache like the parts,
and filled in for each request in one pass.

A slot is a word made from SECRET_KEY, so nothing a person writes on the site can be taken for
one. Only the plain page is framed: a query string (?as_of=, ?without=, anything), a refused
vote's form or a question only staff can see is rendered in full, as before.

The list pages (the home page and a tag's) are framed the same way around their rows, on their
first page in each order; a later page (a cursor) is rendered in full.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Container
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from polls import cache_keys, fragments

TEMPLATE = "polls/question_detail.html"
# The question's rendered parts (polls.fragments.question_parts), each placed by a slot.
PARTS = ("head", "options", "results", "trend", "splits", "integrity")
# A list page's rows (polls.fragments.question_rows, with the reader's "you voted").
LIST_PARTS = ("rows",)
# What else differs per request: the CSRF token, the member's name and the messages.
PER_REQUEST = ("csrf", "member", "messages")
# The only query a framed list page may have: its order (a cursor's later pages are rendered in
# full, so arbitrary cursors cannot fill the worker's cache with frames).
LIST_QUERY = frozenset({"order"})


@lru_cache(maxsize=4)
def _slots(secret: str) -> dict[str, str]:
    return {
        name: "bbslot"
        + name
        + hmac.new(secret.encode(), f"page-frame:{name}".encode(), hashlib.sha256).hexdigest()[:24]
        for name in (*PARTS, *LIST_PARTS, *PER_REQUEST)
    }


def slots() -> dict[str, str]:
    return _slots(settings.SECRET_KEY)


def framed(request: HttpRequest, context: dict[str, Any]) -> bool:
    """Whether this question page can come from a frame: a public question's plain page. A
    page with no query has no ?as_of= or ?without=; ``frame_key`` is None for a refused vote's
    form and for a question only staff can see."""
    return context.get("frame_key") is not None and not request.GET


def render(request: HttpRequest, context: dict[str, Any]) -> str:
    """The question page: its frame for this kind of reader, with this request's parts, token,
    name and messages in their slots."""
    user = request.user
    question = context["question"]
    card = context.get("share_card")
    varies = (
        context["frame_key"],
        context.get("closed"),
        context.get("has_voted"),
        user.is_authenticated and user.pk == question.author_id,
        (card.url, card.alt) if card is not None else None,
    )
    return _filled(request, TEMPLATE, context, parts=PARTS, varies=varies)


def list_framed(request: HttpRequest, orders: Container[str]) -> bool:
    """Whether a list page can come from a frame: its first page, in one of the ``orders``."""
    return set(request.GET) <= LIST_QUERY and request.GET.get("order", "") in orders


def render_list(request: HttpRequest, template: str, context: dict[str, Any]) -> str:
    """A list page (the home page, a tag's): its frame, with the rows in their slot."""
    # Its order, canonical address and indexing follow from its address, which keys every frame.
    tag = context.get("tag")
    varies = ((tag.pk, tag.slug, tag.name) if tag is not None else None,)
    return _filled(request, template, context, parts=LIST_PARTS, varies=varies)


def _filled(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    parts: tuple[str, ...],
    varies: tuple[object, ...],
) -> str:
    """``template``'s frame for this kind of reader (``varies``, and who reads it, where and in
    which time zone), with this request's ``parts``, token, name and messages in its slots."""
    slot = slots()
    present = {name: context.get(name) for name in parts}
    user = request.user
    key = cache_keys.fragment(
        template,
        *varies,
        tuple(name for name, part in present.items() if part is None),
        timezone.get_current_timezone_name(),
        user.is_authenticated,
        user.is_staff,
        settings.PUBLIC_ORIGIN,
        request.scheme,
        request.get_host(),
        request.get_full_path(),
    )
    frames = caches[fragments.ALIAS]
    found = frames.get(key)
    if found is not None:
        frame, has_form = found
    else:
        placed = {name: mark_safe(slot[name]) for name, part in present.items() if part is not None}  # noqa: S308
        frame = render_to_string(
            template,
            {
                **context,
                **placed,
                "csrf_token": slot["csrf"],
                "member_slot": slot["member"],
                "messages_slot": mark_safe(slot["messages"]),  # noqa: S308  (a word)
            },
            request,
        )
        # Whether it holds a form's token, found once: only then does a request get a token
        # (and an anonymous page stays free of the CSRF cookie).
        has_form = slot["csrf"] in frame
        frames.set(key, (frame, has_form), fragments.FRAGMENT_SECONDS)
    values = {slot[name]: str(part) for name, part in present.items() if part is not None}
    if has_form:
        values[slot["csrf"]] = get_token(request)
    values[slot["member"]] = escape(user.get_username()) if user.is_authenticated else ""
    values[slot["messages"]] = _messages(request)
    # One pass: what goes into a slot is never searched for slots itself.
    pattern = re.compile("|".join(re.escape(word) for word in values))
    return pattern.sub(lambda found: values[found.group(0)], frame)


def _messages(request: HttpRequest) -> SafeString:
    waiting = get_messages(request)
    if not waiting:
        return mark_safe("")  # noqa: S308
    return mark_safe(render_to_string("_messages.html", {"messages": waiting}))  # noqa: S308
