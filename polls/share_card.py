"""Share cards: the 1200×630 PNG a link to a question previews as (its og:image), drawn with
Pillow in Beebeta's colours and DejaVu Sans (the OS package fonts-dejavu-core).

A card shows the question and, when its results are public, the headline and the leading
choices with their shares, counted on the day it was drawn (the card says which). It lives in
the media storage (S3 behind CloudFront in production) under ``cards/<question id>/<digest>.png``,
cached as immutable; the digest changes when the result changes meaningfully:

- the title or a choice's text changes, the question closes, or its results become public;
- the headline's words change (no votes, too few to tell, too close to call or a tie, who leads,
  "most say");
- any choice's share crosses a multiple of 5 percent (its whole percents divided by 5, rounded
  down), so a card is at most 5 points behind each share it shows.

A card is drawn the first time a page view needs its digest and is not drawn again: each worker
remembers the digests it has seen stored (the worker-local "fragments" cache, no round trip), so
a warm question page costs nothing more. An old digest is never deleted while its question is
public, so a card URL already shared keeps working; the digest is keyed with SECRET_KEY, so a
card of a question that was never public cannot be guessed. When a question stops being public,
its cards are deleted.

Text the font cannot draw (Chinese, Japanese, Korean, emoji...) or that runs right to left
(Arabic, Hebrew) gets the generic Beebeta card instead: the question's title still travels in
the og:title text, which the platform draws with its own fonts.

A storage that fails costs the card, never the page: the page links the generic card, and the
worker leaves the storage alone for a few seconds (as polls/images.py does for uploads).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from beebeta.links import absolute
from polls import cache_keys, reads
from polls.models import Choice, Question
from polls.results import Results, interval_text, percent_text, results

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
# Bumped when the drawing changes, so every question gets a new card.
DESIGN = "2"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REGULAR, BOLD = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
BUCKET = 5  # percent
# Choices drawn with their bars; more are summed up as "and N more".
SHOWN_CHOICES = 4
# After a storage failure, cards are not tried for this long (the page links the generic card).
STORAGE_RETRY_SECONDS = 10.0
# How long a worker remembers that a digest is stored: cards are immutable.
KNOWN_SECONDS = 24 * 3600

# static/css/beebeta.css's tokens.
INK, MUTED, BG, CARD = "#1b2430", "#5b6675", "#f7f8fa", "#ffffff"
BRAND, ACCENT, BAR, TRACK = "#1d3557", "#b4441f", "#1f7a6e", "#edf0f3"
GENERIC_ALT = "Beebeta: see what people think, vote in one tap, ask your own question."


@dataclass(frozen=True)
class Card:
    """A card as the page's meta tags name it."""

    url: str
    alt: str
    width: int = WIDTH
    height: int = HEIGHT


def generic_card(request: HttpRequest | None) -> Card:
    return Card(url=absolute(_generic_path(), request), alt=GENERIC_ALT)


@cache
def _generic_path() -> str:
    return reverse("polls:share_card")


# --- What a card shows, and its key ---------------------------------------------------------


@dataclass(frozen=True)
class CardContent:
    question: Question
    choices: Sequence[Choice]
    # None when the results are not public yet.
    result: Results | None
    closed: bool

    def digest(self) -> str:
        """The part of the key that changes when the card would change meaningfully."""
        parts: list[object] = [DESIGN, self.question.pk, self.question.title, self.closed]
        parts += [(choice.pk, choice.text) for choice in self.choices]
        if self.result is not None:
            said = self.result.headline
            leader = self.result.rows[0].choice.pk if said.kind == "ahead" else None
            # The headline's words carry its kind, its leader and "most" against "leads".
            parts += [said.lead, leader]
            parts += [(row.choice.pk, int(row.percent) // BUCKET) for row in self.result.rows]
        text = repr(parts).encode()
        return hmac.new(settings.SECRET_KEY.encode(), text, hashlib.blake2b).hexdigest()[:24]

    def key(self) -> str:
        return f"cards/{self.question.pk}/{self.digest()}.png"

    def alt(self) -> str:
        """The card in words: what it shows that stays the same for its key (the headline's
        words, not its figures, which move within a key)."""
        if self.result is None:
            return f"“{self.question.title}”: a question on Beebeta."
        return f"“{self.question.title}”: {self.result.headline.lead.rstrip('.')}, on Beebeta."


def content_of(page: reads.QuestionPage, *, now: datetime | None = None) -> CardContent:
    """What the card of a public question page shows: its results only when everyone may see
    them (the card is public whoever opened the page)."""
    question, counts = page.question, page.counts
    if counts is None:
        raise ValueError("A card shows the counts: read the page with its results.")
    closed = question.is_closed(now)
    shown = None
    if question.results_visible_to(has_voted=False, now=now):
        shown = results(
            page.choices,
            counts.by_choice,
            counts.voters,
            closed=closed,
            multiple=question.allows_multiple,
        )
    return CardContent(question=question, choices=page.choices, result=shown, closed=closed)


# --- The page's card: found, or drawn and stored once -----------------------------------------

_paused_until = 0.0


def card_for(page: reads.QuestionPage, request: HttpRequest | None) -> Card:
    """The card a public question page links: its own, stored once per digest, or the generic
    card when its text cannot be drawn or the storage fails."""
    known = caches["fragments"]
    # Which card goes with these counts, worked out once per cached question and counts (their
    # stamps) in each worker: the card's key comes from the results, which cost more to compute
    # than the rest of a warm page.
    chosen = None
    if page.stamp is not None and page.counts is not None:
        closed = page.question.is_closed()
        chosen = cache_keys.fragment("share-card-for", page.stamp, page.counts.stamp, closed)
        found = known.get(chosen)
        if found is not None:
            url, alt = found
            return Card(url=absolute(url, request), alt=alt) if url else generic_card(request)
    content = content_of(page)
    if not drawable(content):
        if chosen is not None:
            known.set(chosen, ("", ""), KNOWN_SECONDS)
        return generic_card(request)
    key = content.key()
    remembered = cache_keys.fragment("share-card", key)
    url = known.get(remembered)
    if url is None:
        url = _stored(content, key)
        if url is None:
            return generic_card(request)
        known.set(remembered, url, KNOWN_SECONDS)
    alt = content.alt()
    if chosen is not None:
        known.set(chosen, (url, alt), KNOWN_SECONDS)
    return Card(url=absolute(url, request), alt=alt)


def _stored(content: CardContent, key: str) -> str | None:
    """The URL of the card at ``key``, drawing and storing it if it is not there yet; None
    when the storage fails (and then, for STORAGE_RETRY_SECONDS, without trying)."""
    global _paused_until
    if time.monotonic() < _paused_until:
        return None
    storage = storages["default"]
    try:
        if not storage.exists(key):
            saved = storage.save(key, ContentFile(draw(content), name=key))
            if saved != key:
                # Another worker stored the same card a moment before: keep one.
                storage.delete(saved)
        return storage.url(key)
    except Exception:
        logger.warning("share card %s not stored: the page links the generic card", key)
        _paused_until = time.monotonic() + STORAGE_RETRY_SECONDS
        return None


def forget_cards(question_id: int) -> None:
    """Delete every card of a question that is no longer public (best effort: a storage that
    fails leaves them, under keys nothing links and nobody can guess)."""
    storage = storages["default"]
    folder = f"cards/{question_id}"
    try:
        _, names = storage.listdir(folder)
        for name in names:
            storage.delete(f"{folder}/{name}")
    except FileNotFoundError:
        return
    except Exception:
        logger.warning("cards of question %s not deleted", question_id)


# --- Drawing ----------------------------------------------------------------------------------


@cache
def _covered() -> frozenset[int]:
    try:
        return frozenset(TTFont(str(REGULAR), lazy=True).getBestCmap())
    except OSError:
        # deploy/os-packages.sh installs the font; without it every question gets the
        # generic card (drawn in Pillow's own font) rather than an error.
        logger.warning("no %s: questions get the generic share card", REGULAR)
        return frozenset()


def drawable(content: CardContent) -> bool:
    """Whether DejaVu Sans draws every character of the card, left to right."""
    texts = [content.question.title, *(choice.text for choice in content.choices)]
    covered = _covered()
    for char in "".join(texts):
        if char.isspace():
            continue
        if ord(char) not in covered or unicodedata.bidirectional(char) in ("R", "AL"):
            return False
    return True


@cache
def _font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(BOLD if bold else REGULAR), size)
    except OSError:
        return ImageFont.load_default(size)  # type: ignore[return-value]


def _lines(text: str, font: ImageFont.FreeTypeFont, width: int, most: int) -> list[str]:
    """``text`` wrapped to ``width`` pixels in at most ``most`` lines, the last cut with "…";
    a word too long for a line is broken anywhere."""
    words: list[str] = []
    for word in text.split():
        while font.getlength(word) > width and len(word) > 1:
            cut = _fitting(word, font, width)
            words.append(word[:cut])
            word = word[cut:]
        words.append(word)
    lines: list[str] = []
    for word in words:
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most]
        last = lines[-1]
        while last and font.getlength(f"{last}…") > width:
            last = last[:-1]
        lines[-1] = f"{last.rstrip()}…"
    return lines or [""]


def _fitting(word: str, font: ImageFont.FreeTypeFont, width: int) -> int:
    cut = len(word)
    while cut > 1 and font.getlength(word[:cut]) > width:
        cut -= 1
    return cut


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, HEIGHT), BG)
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((32, 32, WIDTH - 32, HEIGHT - 32), radius=16, fill=CARD)
    # The brand, as in the site's header.
    pen.rectangle((32, 32, WIDTH - 32, 40), fill=BRAND)
    pen.text((LEFT, 60), "Beebeta", font=_font(True, 30), fill=ACCENT)
    return image, pen


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def draw(content: CardContent, *, today: datetime | None = None) -> bytes:
    """The card's PNG: the title, then the headline and a bar per leading choice (or the
    choices alone while the results are not public), and a line on what the figures are."""
    image, pen = _canvas()
    title_font = _font(True, 44)
    y = TOP
    most = 2 if content.result is not None else 3
    for line in _lines(content.question.title, title_font, RIGHT - LEFT, most):
        pen.text((LEFT, y), line, font=title_font, fill=INK)
        y += 54
    y += 12
    if content.result is None:
        hidden = _draw_choices(pen, content.choices, y)
        # Closed questions show their results to everyone: only an open one gets here.
        note = "Results when voting ends"
        if content.question.results_visibility == Question.Results.AFTER_VOTE:
            note = "Vote to see the results"
        _footer(pen, _more(hidden) + [note])
        return _png(image)
    lead_font = _font(True, 30)
    lead = _lines(content.result.headline.lead, lead_font, RIGHT - LEFT, 1)[0]
    pen.text((LEFT, y), lead, font=lead_font, fill=BRAND)
    hidden = _draw_bars(pen, content.result, y + 50)
    day = (today or timezone.now()).astimezone(UTC).date()
    voters = content.result.voters
    counted = f"{voters:,} voter{'' if voters == 1 else 's'}, counted {day:%-d %b %Y}"
    if content.closed:
        counted = f"Final result: {counted}"
    ranges = ["ranges: 95% intervals"] if voters else []
    _footer(pen, _more(hidden) + [counted, *ranges])
    return _png(image)


LEFT, RIGHT, TOP = 72, WIDTH - 72, 108
# The footer line's top; rows stop above it.
FOOTER = HEIGHT - 88


def _more(hidden: int) -> list[str]:
    return [f"and {hidden} more choice{'' if hidden == 1 else 's'}"] if hidden else []


def _footer(pen: ImageDraw.ImageDraw, parts: list[str]) -> None:
    font = _font(False, 24)
    text = _lines(" · ".join(parts), font, RIGHT - LEFT, 1)[0]
    pen.text((LEFT, FOOTER + 10), text, font=font, fill=MUTED)


def _draw_bars(pen: ImageDraw.ImageDraw, result: Results, y: int) -> int:
    """A row per choice, most voted first, as many as fit; returns how many did not."""
    text_font, figure_font, range_font = _font(False, 26), _font(True, 26), _font(False, 22)
    room = max(1, (FOOTER - y) // 62)
    rows = result.rows[:room]
    for row in rows:
        # Every share with its 95% interval, as on the page.
        figure = f"{percent_text(row.percent)}%"
        figure_width = int(figure_font.getlength(figure))
        interval = interval_text(row.share) if result.voters else ""
        interval_width = int(range_font.getlength(interval)) + 12 if interval else 0
        width = RIGHT - LEFT - figure_width - interval_width - 24
        label = _lines(row.choice.text, text_font, width, 1)[0]
        pen.text((LEFT, y), label, font=text_font, fill=INK)
        pen.text((RIGHT - figure_width, y), figure, font=figure_font, fill=INK)
        if interval:
            where = (RIGHT - figure_width - interval_width, y + 3)
            pen.text(where, interval, font=range_font, fill=MUTED)
        bar_top = y + 36
        pen.rounded_rectangle((LEFT, bar_top, RIGHT, bar_top + 12), radius=6, fill=TRACK)
        filled = LEFT + round((RIGHT - LEFT) * min(row.percent, 100) / 100)
        if filled > LEFT + 12:
            pen.rounded_rectangle((LEFT, bar_top, filled, bar_top + 12), radius=6, fill=BAR)
        y += 62
    return len(result.rows) - len(rows)


def _draw_choices(pen: ImageDraw.ImageDraw, choices: Sequence[Choice], y: int) -> int:
    """The choices as a list, as many as fit; returns how many did not."""
    font = _font(False, 28)
    room = max(1, (FOOTER - y) // 44)
    shown = choices[:room]
    for choice in shown:
        line = _lines(choice.text, font, RIGHT - LEFT - 32, 1)[0]
        pen.ellipse((LEFT, y + 11, LEFT + 14, y + 25), fill=BAR)
        pen.text((LEFT + 32, y), line, font=font, fill=INK)
        y += 44
    return len(choices) - len(shown)


@cache
def generic_png() -> bytes:
    """Beebeta's own card, for every page that is not a question and for questions whose card
    cannot be drawn or stored. Drawn once per process."""
    image, pen = _canvas()
    y = 210
    for line in _lines("See what people think", _font(True, 64), RIGHT - LEFT, 2):
        pen.text((LEFT, y), line, font=_font(True, 64), fill=INK)
        y += 80
    blurb = "Vote on any question in one tap, see the results at once, and ask your own."
    for line in _lines(blurb, _font(False, 32), RIGHT - LEFT, 3):
        pen.text((LEFT, y + 16), line, font=_font(False, 32), fill=MUTED)
        y += 46
    return _png(image)
