"""Template filters and tags for Beebeta's pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from django import template
from django.conf import settings
from django.template.loader_tags import BLOCK_CONTEXT_KEY
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil

from beebeta.links import absolute
from polls import cards, results, sharing

register = template.Library()


# A few addresses per question (its vote, activity, data...) for the questions being read.
@lru_cache(maxsize=4096)
def _link(name: str, urlconf: str, prefix: str, args: tuple[object, ...] = ()) -> str | None:
    try:
        return reverse(name, urlconf=urlconf, args=args)
    except NoReverseMatch:
        return None


@register.simple_tag
def link(name: str, *args: object, optional: bool = False) -> str:
    """{% link 'polls:home' %}, {% link 'polls:vote' question.slug %}: a view's address, as
    {% url %} gives it. With ``optional=True`` a view that does not exist (an app switched off)
    gives "" instead of an error.

    Reversed once per URL configuration, script prefix and arguments, not on every page: every
    page's header links to a dozen views and a question page to eight of its own, and reversing
    them was a sixth of a question page's time.
    """
    urlconf = str(get_urlconf() or settings.ROOT_URLCONF)
    address = _link(name, urlconf, get_script_prefix(), tuple(str(arg) for arg in args))
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


# Questions closing sooner than this say so on their card.
CLOSING_SOON = timedelta(days=7)


@register.filter
def closing_in(moment: datetime | None) -> str:
    """'in 3 hours' for a closing time within CLOSING_SOON, else ''."""
    if moment is None:
        return ""
    left = moment - timezone.now()
    if left <= timedelta(0) or left > CLOSING_SOON:
        return ""
    if left < timedelta(minutes=1):
        return "in under a minute"
    return f"in {timeuntil(moment, depth=1)}"


@register.filter
def voted_mark(question_id: int) -> SafeString:
    """Where a card says "you voted" to a visitor who did (polls/cards.py)."""
    return cards.marker(question_id)


@register.simple_tag
def you_voted() -> SafeString:
    """The "you voted" mark of a card whose visitor voted on its question."""
    return mark_safe(cards.VOTED)  # noqa: S308  (a constant)


@register.filter
def percent(share: results.Share) -> str:
    """{{ share|percent }}: '56%'."""
    return f"{results.percent_text(share.percent)}%"


@register.filter
def interval(share: results.Share) -> str:
    """{{ share|interval }}: '41–69%', the 95% interval."""
    return results.interval_text(share)


@register.filter
def too_few_to_tell(voters: int) -> bool:
    """Whether so few have voted that a share would only look precise."""
    return voters < results.TOO_FEW_TO_TELL


@register.simple_tag(takes_context=True)
def block_text(context: template.Context, name: str) -> str:
    """{% block_text 'title' %}: the page's block ``name`` once more, on one line, as the page
    defined it: the title and description go into the Open Graph and Twitter tags too, and a
    Django block can be placed only once. The page's own override renders (BlockNode.render
    takes the innermost override from the render context); outside an extended template, ""."""
    blocks = context.render_context.get(BLOCK_CONTEXT_KEY)
    node = blocks.get_block(name) if blocks is not None else None
    if node is None:
        return ""
    return mark_safe(" ".join(node.render(context).split()))  # noqa: S308  (autoescaped)


@register.simple_tag(takes_context=True)
def share_links(context: template.Context, question) -> list:
    """{% share_links question as links %}: where the question can be shared (polls/sharing)."""
    url = absolute(question.get_absolute_url(), context.get("request"))
    return sharing.share_links(url, question.title)


@register.simple_tag(takes_context=True)
def embed_snippet(context: template.Context, question) -> str:
    """{% embed_snippet question %}: the <iframe> code that shows the question on another site,
    as text, for the question page's "Embed" box."""
    url = absolute(reverse("polls:embed", args=[question.slug]), context.get("request"))
    return escape(sharing.embed_snippet(url, question.title))


class CaptureNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist, self.name = nodelist, name

    def render(self, context: template.Context) -> str:
        context[self.name] = mark_safe(self.nodelist.render(context))  # noqa: S308  (rendered)
        return ""


@register.tag
def capture(parser: template.base.Parser, token: template.base.Token) -> CaptureNode:
    """{% capture nav %}...{% endcapture %}: render the part once into ``nav``, to place it
    twice (the header's links, inline and in the phone menu) for the cost of one."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("{% capture %} takes one name: {% capture nav %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist, bits[1])
