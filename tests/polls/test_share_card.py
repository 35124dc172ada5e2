"""Share cards: the question page's og:image is a 1200×630 PNG of the question and its result,
stored once per key in the media storage (the suite's S3 API server), cached as immutable; the key
changes when the leader or a share's 5-point bucket changes, and old cards keep working. A
hidden question's card is never linked and is deleted; a storage that does not answer costs the
card (the generic one is linked), never the page.
"""

from __future__ import annotations

import io
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from botocore.config import Config
from django.contrib.auth import get_user_model
from django.core.cache import caches
from PIL import Image

from deploy.stack.faults import ask_relay, relay_argv
from deploy.stack.processes import free_port
from polls import services, share_card
from polls.models import Question
from polls.results import results
from tests.s3 import PUBLIC_CACHE, s3_storages

ROOT = Path(__file__).resolve().parents[2]
OG_IMAGE = re.compile(r'<meta property="og:image" content="([^"]+)"')


@pytest.fixture(autouse=True)
def _fresh_worker(monkeypatch):
    """Each test starts as a worker that has seen no card and no storage failure."""
    caches["fragments"].clear()
    monkeypatch.setattr(share_card, "_paused_until", 0.0)


def og_image(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    (image,) = OG_IMAGE.findall(response.text)
    return image


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310  (a loopback URL)
        return answer.read(), dict(answer.headers)


def vote(question: Question, *picks: int) -> None:
    """One new voter per entry of ``picks``, each choosing the choice at that position."""
    choices = list(question.choices.order_by("position"))
    User = get_user_model()
    first = User.objects.count()
    for n, position in enumerate(picks):
        voter = User.objects.create_user(username=f"card-voter-{first + n}")
        services.cast_vote(user=voter, question=question, choice_ids=[choices[position].pk])


def test_the_card_is_a_1200_by_630_png_in_the_bucket_cached_as_immutable(
    client, make_question, s3_bucket
):
    question = make_question("Which city has the best trams?", ("Lisbon", "Zürich", "Київ"))
    vote(question, *[0] * 7, *[1] * 3, 2)
    url = og_image(client, question.get_absolute_url())
    key = f"cards/{question.pk}/"
    assert f"/{s3_bucket.name}/{key}" in url
    body, headers = fetch(url)
    card = Image.open(io.BytesIO(body))
    assert (card.format, card.size) == ("PNG", (1200, 630))
    (stored,) = [name for name in s3_bucket.keys() if name.startswith(key)]
    head = s3_bucket.head(stored)
    assert head["CacheControl"] == PUBLIC_CACHE
    assert head["ContentType"] == "image/png"


def test_a_card_is_drawn_once_per_key_whatever_the_page_views(
    client, make_question, s3_bucket, monkeypatch
):
    question = make_question()
    drawn = []
    real = share_card.draw
    monkeypatch.setattr(share_card, "draw", lambda content: drawn.append(1) or real(content))
    urls = {og_image(client, question.get_absolute_url()) for _ in range(3)}
    # Another worker (its own memory) finds the card stored and does not draw it again.
    caches["fragments"].clear()
    urls.add(og_image(client, question.get_absolute_url()))
    assert len(urls) == 1
    assert len(drawn) == 1


def _key(votes: dict[int, int], voters: int, *, title: str = "Tea or coffee?") -> str:
    question = Question(pk=1, title=title)
    choices = [question.choices.model(pk=pk, text=text) for pk, text in ((1, "Tea"), (2, "Coffee"))]
    result = results(choices, votes, voters, closed=False, multiple=False)
    return share_card.CardContent(question, choices, result, closed=False).key()


def test_the_key_changes_when_a_share_crosses_five_points_or_the_leader_changes():
    # 61 and 62 are both in 60-65, 39 and 38 in 35-40.
    assert _key({1: 61, 2: 39}, 100) == _key({1: 62, 2: 38}, 100)
    assert _key({1: 60, 2: 40}, 100) == _key({1: 120, 2: 80}, 200)  # the same shares
    assert _key({1: 64, 2: 36}, 100) != _key({1: 65, 2: 35}, 100)  # 64 -> 65: bucket 12 -> 13
    assert _key({1: 70, 2: 30}, 100) != _key({1: 30, 2: 70}, 100)  # another leader
    assert _key({1: 5, 2: 3}, 8) != _key({1: 50, 2: 30}, 80)  # too few -> a leader
    assert _key({1: 60, 2: 40}, 100) != _key({1: 60, 2: 40}, 100, title="Tea, or coffee?")


def test_a_new_result_gets_a_new_card_and_the_old_one_keeps_working(
    client, make_question, s3_bucket
):
    question = make_question("Tea or coffee?", ("Tea", "Coffee"))
    vote(question, *[0] * 10, *[1] * 6)  # 62.5% tea, 37.5% coffee
    before = og_image(client, question.get_absolute_url())
    vote(question, 0, 1)  # 11 and 7 of 18: 61% and 39%, still in buckets 60-65 and 35-40
    assert og_image(client, question.get_absolute_url()) == before
    vote(question, *[1] * 12)  # 11 and 19 of 30: coffee leads
    after = og_image(client, question.get_absolute_url())
    assert after != before
    for url in (before, after):
        body, _ = fetch(url)
        assert Image.open(io.BytesIO(body)).size == (1200, 630)


def test_a_hidden_question_s_card_is_never_linked_and_is_deleted(
    client, make_question, s3_bucket, staff, django_capture_on_commit_callbacks
):
    question = make_question()
    url = og_image(client, question.get_absolute_url())
    fetch(url)
    with django_capture_on_commit_callbacks(execute=True):
        question.status = Question.Status.HIDDEN
        question.save()
    assert client.get(question.get_absolute_url()).status_code == 404
    client.force_login(staff)  # staff still see it, marked as not public: with Beebeta's card
    assert og_image(client, question.get_absolute_url()).endswith("/share-card.png")
    assert not [key for key in s3_bucket.keys() if key.startswith(f"cards/{question.pk}/")]
    with pytest.raises(urllib.error.HTTPError):
        fetch(url)


def test_a_pending_question_never_gets_a_card(client, make_question, s3_bucket, staff):
    question = make_question(status=Question.Status.PENDING)
    client.force_login(staff)
    assert og_image(client, question.get_absolute_url()).endswith("/share-card.png")
    assert not s3_bucket.keys()


def test_text_the_font_cannot_draw_gets_the_generic_card(client, make_question, s3_bucket):
    greek = make_question("Ποιο νησί είναι το ωραιότερο;", ("Κρήτη", "Νάξος"))
    assert "/cards/" in og_image(client, greek.get_absolute_url())
    for title in ("どのラーメンが一番おいしい?", "أي مدينة أجمل؟"):
        other = make_question(title, ("A", "B"))
        assert og_image(client, other.get_absolute_url()).endswith("/share-card.png")


def test_without_the_font_every_question_gets_the_generic_card(
    client, make_question, monkeypatch, s3_bucket
):
    question = make_question()
    for name in ("REGULAR", "BOLD"):
        monkeypatch.setattr(share_card, name, Path("/nonexistent/DejaVuSans.ttf"))
    for cached in (share_card._covered, share_card._font, share_card.generic_png):
        cached.cache_clear()
    try:
        assert og_image(client, question.get_absolute_url()).endswith("/share-card.png")
        response = client.get("/share-card.png")
        assert Image.open(io.BytesIO(response.content)).size == (1200, 630)
    finally:
        monkeypatch.undo()
        for cached in (share_card._covered, share_card._font, share_card.generic_png):
            cached.cache_clear()


def test_the_generic_card_is_a_1200_by_630_png(client):
    response = client.get("/share-card.png")
    assert response["Content-Type"] == "image/png"
    assert "max-age=86400" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("PNG", (1200, 630))


@pytest.fixture
def silent_s3(s3_bucket, settings, tmp_path):
    """The media storage reached through the stack's fault relay (deploy/stack/faults.py), with
    production's short S3 timeouts; yields the relay's control socket, relaying at first."""
    from tests.s3 import ENDPOINT

    port, control = free_port(), tmp_path / "relay.sock"
    target = ENDPOINT.removeprefix("http://")
    relay = subprocess.Popen(  # noqa: S603  (our own relay, on loopback)
        relay_argv(listen=f"127.0.0.1:{port}", target=target, control=control), cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 10
        while not control.exists():
            assert time.monotonic() < deadline, "the relay did not start"
            time.sleep(0.05)
        storages = s3_storages(s3_bucket.name)
        options = storages["default"]["OPTIONS"]
        options["endpoint_url"] = f"http://127.0.0.1:{port}"
        options["client_config"] = Config(
            connect_timeout=0.5,
            read_timeout=0.5,
            retries={"mode": "standard", "total_max_attempts": 2},
            s3={"addressing_style": "path"},
            signature_version="s3v4",
        )
        settings.STORAGES = {**settings.STORAGES, **storages}
        yield control
    finally:
        relay.terminate()
        relay.wait(timeout=10)


def test_a_silent_storage_leaves_the_page_at_200_with_the_generic_card(
    client, make_question, silent_s3, figure
):
    question = make_question()
    assert ask_relay(silent_s3, "blackhole")["mode"] == "blackhole"
    started = time.monotonic()
    assert og_image(client, question.get_absolute_url()).endswith("/share-card.png")
    tried = ask_relay(silent_s3, "status")
    assert tried["held"] >= 1, "the page did try the storage"
    # Within the pause that follows, the worker does not try the storage again.
    again = time.monotonic()
    assert og_image(client, question.get_absolute_url()).endswith("/share-card.png")
    done = time.monotonic()
    assert ask_relay(silent_s3, "status")["accepted"] == tried["accepted"]
    assert again - started < 10  # as long as a failed upload may take (tests/stack)
    figure(
        f"S3 silent: the question page 200 with Beebeta's card in {again - started:.1f} s "
        f"(timeouts 0.5 s, 2 attempts), the next view in {done - again:.2f} s"
    )
    ask_relay(silent_s3, "forward")
    share_card._paused_until = 0.0  # the pause is over
    assert "/cards/" in og_image(client, question.get_absolute_url())


def test_text_of_every_choice_is_drawn_in_place(make_question):
    """The drawing itself, for the look: a long title and many choices stay inside the card."""
    question = make_question(
        "Which of these long-standing neighbourhood traditions would you most like kept? " * 2,
        tuple(
            f"Choice number {n} with Pneumonoultramicroscopicsilicovolcanoconiosis"
            for n in range(8)
        ),
    )
    choices = list(question.choices.all())
    result = results(
        choices, {c.pk: n + 1 for n, c in enumerate(choices)}, 36, closed=True, multiple=False
    )
    content = share_card.CardContent(question, choices, result, closed=True)
    image = Image.open(io.BytesIO(share_card.draw(content)))
    assert image.size == (1200, 630)
    # The outer margin stays the page's background: nothing was drawn past the card's edge.
    band = image.crop((0, 600, 1200, 630)).convert("RGB")
    assert [colour for _, colour in band.getcolors()] == [(0xF7, 0xF8, 0xFA)]
