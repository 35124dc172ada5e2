"""Share links: plain links to email and the major networks' own share pages, which work with
JavaScript off; static/js/share.js adds the browser's share sheet (Web Share API) and "Copy
link" where they exist. Nothing here talks to a network: the visitor's browser follows a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from django.utils.html import format_html


@dataclass(frozen=True)
class ShareLink:
    name: str
    href: str


def _query(**fields: str) -> str:
    # %20 rather than "+": mail programs show a "+" literally in a mailto: subject.
    return urlencode(fields, quote_via=quote)


def share_links(url: str, title: str) -> list[ShareLink]:
    """Where a question at ``url`` (absolute) with ``title`` can be shared, in that order."""
    both = f"{title} {url}"
    letter = f"{title}\n\n{url}"
    return [
        ShareLink("Email", f"mailto:?{_query(subject=title, body=letter)}"),
        ShareLink("WhatsApp", f"https://wa.me/?{_query(text=both)}"),
        ShareLink("Facebook", f"https://www.facebook.com/sharer/sharer.php?{_query(u=url)}"),
        ShareLink("X", f"https://x.com/intent/tweet?{_query(text=title, url=url)}"),
        ShareLink("Bluesky", f"https://bsky.app/intent/compose?{_query(text=both)}"),
        ShareLink("LinkedIn", f"https://www.linkedin.com/sharing/share-offsite/?{_query(url=url)}"),
        ShareLink("Reddit", f"https://www.reddit.com/submit?{_query(url=url, title=title)}"),
        ShareLink("Telegram", f"https://t.me/share/url?{_query(url=url, text=title)}"),
    ]


# The size an embed is offered at, and the largest an oEmbed consumer may ask for.
EMBED_WIDTH, EMBED_HEIGHT = 560, 460


def embed_snippet(
    embed_url: str, title: str, *, width: int | str = "100%", height: int = EMBED_HEIGHT
) -> str:
    """The <iframe> another site pastes to show a question (its embed page at ``embed_url``)."""
    return format_html(
        '<iframe src="{}" title="{}" width="{}" height="{}" loading="lazy" '
        'style="border:0;max-width:100%"></iframe>',
        embed_url,
        f"{title} (a question on Beebeta)",
        width,
        height,
    )
