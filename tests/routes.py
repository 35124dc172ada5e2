"""Beebeta's route table: every route of its own URLconf (the admin aside), who may use it and
what it does, and the addresses to visit it by.

tests/security/test_routes.py checks the table against the URL configuration, so a new route
fails until it is listed here, and checks CSRF, methods and access from it. The guards on every
page (tests/test_page_structure.py: one <h1>, a plain-text <title>) and the Chromium sweep
(tests/test_sweep.py: no sideways scrolling, axe-core) visit every page of it as every role that
may open it: a page added to the site is checked without anyone listing it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Who may use a route.
PUBLIC, MEMBER, STAFF = "public", "member", "staff"
# What a route does: READ (GET only, changes nothing), FORM (GET shows, POST changes state),
# ACTION (POST only: changes state, GET refused).
READ, FORM, ACTION = "read", "form", "action"


@dataclass(frozen=True)
class Route:
    access: str
    kind: str
    # False for a READ route that answers with something other than an HTML page.
    html: bool = True


ROUTES = {
    "polls:home": Route(PUBLIC, READ),
    "polls:tags": Route(PUBLIC, READ),
    "polls:tag": Route(PUBLIC, READ),
    "polls:search": Route(PUBLIC, READ),
    "polls:question": Route(PUBLIC, READ),
    # Activity by weekday and hour, by group, of a question and of a tag.
    "polls:question_activity": Route(PUBLIC, READ),
    "polls:tag_activity": Route(PUBLIC, READ),
    # A question as open data, and the page of the nightly dumps.
    "polls:question_json": Route(PUBLIC, READ, html=False),
    "polls:question_csv": Route(PUBLIC, READ, html=False),
    "polls:data": Route(PUBLIC, READ),
    "polls:feed_new": Route(PUBLIC, READ, html=False),
    "polls:feed_closed": Route(PUBLIC, READ, html=False),
    "polls:feed_tag": Route(PUBLIC, READ, html=False),
    "about": Route(PUBLIC, READ),
    "privacy": Route(PUBLIC, READ),
    # For search engines and browsers.
    "robots_txt": Route(PUBLIC, READ, html=False),
    "favicon": Route(PUBLIC, READ, html=False),
    "sitemap_index": Route(PUBLIC, READ, html=False),
    "sitemap_section": Route(PUBLIC, READ, html=False),
    "polls:ask": Route(MEMBER, FORM),
    "polls:ask_pending": Route(MEMBER, READ),
    "polls:vote": Route(MEMBER, ACTION),
    # GET holds an anonymous visitor's pick; POST is its "vote with your email" form.
    "polls:almost_there": Route(PUBLIC, FORM),
    "polls:withdraw": Route(MEMBER, ACTION),
    "polls:report": Route(MEMBER, FORM),
    # Counting a copied link needs no account (anonymous visitors share too).
    "polls:link_copied": Route(PUBLIC, ACTION),
    # A question for other sites' <iframe>s, and oEmbed's JSON about it.
    "polls:embed": Route(PUBLIC, READ),
    "polls:oembed": Route(PUBLIC, READ, html=False),
    # Beebeta's own share card (a PNG), for pages without a card of their own.
    "polls:share_card": Route(PUBLIC, READ, html=False),
    # Choosing the time zone times are shown in: a cookie, for anyone.
    "polls:time_zone": Route(PUBLIC, FORM),
    "polls:insights": Route(STAFF, READ),
    "polls:insights_activity": Route(STAFF, READ),
    "polls:insights_signups": Route(STAFF, READ),
    "polls:insights_moderation": Route(STAFF, READ),
    "polls:insights_integrity": Route(STAFF, READ),
    "accounts:login": Route(PUBLIC, FORM),
    "accounts:logout": Route(PUBLIC, ACTION),
    "accounts:password_change": Route(MEMBER, FORM),
    "accounts:password_change_done": Route(MEMBER, READ),
    "accounts:password_reset": Route(PUBLIC, FORM),
    "accounts:password_reset_done": Route(PUBLIC, READ),
    "accounts:password_reset_complete": Route(PUBLIC, READ),
    "accounts:password_reset_confirm": Route(PUBLIC, FORM),
    # Owner-only by construction: these act on request.user, never on an id in the address.
    "accounts:profile": Route(MEMBER, READ),
    "accounts:profile_data": Route(MEMBER, READ, html=False),
    "accounts:change_email": Route(MEMBER, FORM),
    "accounts:delete_account": Route(MEMBER, FORM),
    "accounts:change_username": Route(MEMBER, FORM),
    # Links from emails work for whoever holds them (they are the proof).
    "accounts:email_link": Route(PUBLIC, FORM),
    "accounts:email_link_again": Route(PUBLIC, ACTION),
    "accounts:check_email": Route(PUBLIC, READ),
    "django_registration_register": Route(PUBLIC, FORM),
    "django_registration_complete": Route(PUBLIC, READ),
    "django_registration_disallowed": Route(PUBLIC, READ),
    "django_registration_activate": Route(PUBLIC, FORM),
    "django_registration_resend": Route(PUBLIC, ACTION),
    "django_registration_activation_complete": Route(PUBLIC, READ),
}
# Outside Django's URLconf: the load balancer's check (beebeta.health middleware).
HEALTH = "/healthz"

# The roles a visitor can have; each may use the routes of its own access and those below it.
ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, MEMBER, STAFF)
_REACH = {ANONYMOUS: {PUBLIC}, MEMBER: {PUBLIC, MEMBER}, STAFF: {PUBLIC, MEMBER, STAFF}}


def walk(patterns, namespace: str = ""):
    """(name, route) of every URL pattern, namespaces joined with ':'; unnamed ones by route."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name or f"unnamed {pattern.pattern}"
            yield f"{namespace}:{name}" if namespace else name, str(pattern.pattern)


def site_routes() -> set[str]:
    return {name for name, _ in walk(get_resolver().url_patterns) if not name.startswith("admin:")}


def admin_routes() -> list[str]:
    return sorted(
        name for name, _ in walk(get_resolver().url_patterns) if name.startswith("admin:")
    )


# The token of the emailed link the route table's visits open (tests/site_data.py makes it).
LINK_TOKEN = "route-table-link"


def address(name: str, *, question_slug: str, tag_slug: str) -> str:
    """The address of a route, with the objects named where the route takes an argument."""
    kwargs = {
        "polls:tag": {"slug": tag_slug},
        "polls:tag_activity": {"slug": tag_slug},
        "polls:feed_tag": {"slug": tag_slug},
        "sitemap_section": {"section": "questions"},
        "accounts:password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
        "accounts:email_link": {"token": LINK_TOKEN},
        "accounts:email_link_again": {"token": LINK_TOKEN},
    }.get(name)
    if name in (
        "polls:question",
        "polls:question_json",
        "polls:question_csv",
        "polls:vote",
        "polls:report",
        "polls:link_copied",
        "polls:almost_there",
        "polls:withdraw",
        "polls:question_activity",
        "polls:embed",
    ):
        kwargs = {"slug": question_slug}
    return reverse(name, kwargs=kwargs)


@dataclass(frozen=True)
class Visit:
    role: str
    route: str
    url: str


def page_visits(
    *, question_slugs: dict[str, list[str]], tag_slug: str, queries: dict[str, tuple[str, ...]]
) -> Iterator[Visit]:
    """Every page of the route table (the routes a GET shows as HTML) as every role that may
    open it. ``question_slugs`` maps a role to the questions whose pages it visits (the first
    one also stands for the routes that take a question); ``queries`` maps a route to query
    strings it is visited with as well (a search, another time zone)."""
    for role in ROLES:
        for name, route in ROUTES.items():
            if route.kind == ACTION or not route.html or route.access not in _REACH[role]:
                continue
            slugs = question_slugs[role] if name == "polls:question" else question_slugs[role][:1]
            for slug in slugs:
                url = address(name, question_slug=slug, tag_slug=tag_slug)
                yield Visit(role, name, url)
                for query in queries.get(name, ()):
                    yield Visit(role, name, f"{url}?{query}")
