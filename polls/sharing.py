"""Share links: plain links to email and the major networks' own share pages, which work with
JavaScript off; static/js/share.js adds the browser's share sheet (Web Share API) and "Copy
link" where they exist. Nothing here talks to a network: the visitor's browser follows a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode


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
