"""A question page from its frame (polls/page_frames.py) is the page rendered in full, for
every kind of reader, with each reader's own name, token and messages; and the frame is
rendered once for all readers of one kind."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client
from django.test.signals import template_rendered

from polls import page_frames, services

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _same_tokens(html: str) -> str:
    return TOKEN.sub('name="csrfmiddlewaretoken" value="-"', html)


@pytest.fixture
def question(make_question, alice):
    return make_question("Which tea is best?", ("Green", "Black", "Oolong"), author=alice)


@pytest.fixture
def renders() -> Iterator[list[str]]:
    """The names of the templates rendered while the test runs."""
    seen: list[str] = []

    def record(sender, template, context, **kwargs) -> None:  # noqa: ARG001
        seen.append(template.name)

    template_rendered.connect(record)
    yield seen
    template_rendered.disconnect(record)


def _framed_and_full(
    client: Client, url: str, monkeypatch, *, list_page: bool = False
) -> tuple[str, str]:
    framed = client.get(url)
    with monkeypatch.context() as patch:
        if list_page:
            patch.setattr(page_frames, "list_framed", lambda request, orders: False)
        else:
            patch.setattr(page_frames, "framed", lambda request, context: False)
        full = client.get(url)
    assert framed.status_code == full.status_code == 200
    return framed.content.decode(), full.content.decode()


def test_the_framed_page_is_the_page_rendered_in_full_for_every_kind_of_reader(
    question, alice, bob, monkeypatch
):
    """One question, read in turn by every kind of reader, each time from the frames the
    readers before left: a frame that served the wrong kind of reader would differ."""
    carol = get_user_model().objects.create_user(username="carol")
    services.cast_vote(user=carol, question=question, choice_ids=[question.choices.first().pk])
    staff = get_user_model().objects.create_user(username="moderator", is_staff=True)
    readers = {"anonymous": None, "member": bob, "voter": carol, "staff": staff, "author": alice}
    url = question.get_absolute_url()
    for _ in range(2):
        for kind, user in readers.items():
            client = Client()
            if user is not None:
                client.force_login(user)
            framed, full = _framed_and_full(client, url, monkeypatch)
            assert _same_tokens(framed) == _same_tokens(full), kind
            assert "bbslot" not in framed
            assert bool(TOKEN.search(framed)) == (user is not None), kind


def test_each_reader_gets_their_own_name_token_and_messages_from_one_frame(question, bob, renders):
    carol = get_user_model().objects.create_user(username="carol")
    url = question.get_absolute_url()
    pages = {}
    for user in (bob, carol):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        pages[user.username] = (client, client.get(url).content.decode())
    # The page itself was rendered once, for the first of the two.
    assert renders.count(page_frames.TEMPLATE) == 1
    for name, other in (("bob", "carol"), ("carol", "bob")):
        client, html = pages[name]
        assert f">{name}</" in html and f">{other}</" not in html
        # The token on the page is this reader's: the vote it sends is counted.
        token = TOKEN.search(html).group(1)
        choice = question.choices.first().pk
        answer = client.post(f"{url}vote/", {"choice": choice, "csrfmiddlewaretoken": token})
        assert answer.status_code == 302
        # The page after the vote carries its message once.
        after = client.get(url).content.decode()
        assert after.count('class="message message-success"') == 1
        assert 'class="message' not in client.get(url).content.decode()


def test_pages_that_differ_by_their_query_or_a_refused_vote_are_rendered_in_full(
    question, bob, client, renders
):
    client.force_login(bob)
    url = question.get_absolute_url()
    client.get(url)
    client.get(url)
    assert renders.count(page_frames.TEMPLATE) == 1
    client.get(f"{url}?as_of=2020-01-01")
    client.get(f"{url}?without=new")
    assert renders.count(page_frames.TEMPLATE) == 3


def test_list_pages_from_their_frames_are_the_pages_rendered_in_full(
    make_question, alice, bob, monkeypatch
):
    """The home page and a tag's, in each order, read in turn by every kind of reader: the
    rows, "you voted", the header and the order tabs as the full render has them."""
    tea = make_question("Tea or coffee?", ("Tea", "Coffee"), tags=("Drinks",), author=alice)
    make_question("Juice or water?", ("Juice", "Water"), tags=("Drinks",))
    services.cast_vote(user=bob, question=tea, choice_ids=[tea.choices.first().pk])
    staff = get_user_model().objects.create_user(username="moderator", is_staff=True)
    pages = ["/", "/?order=most-voted", "/tags/drinks/", "/tags/drinks/?order=newest"]
    for _ in range(2):
        for user in (None, bob, alice, staff):
            client = Client()
            if user is not None:
                client.force_login(user)
            for url in pages:
                framed, full = _framed_and_full(client, url, monkeypatch, list_page=True)
                assert _same_tokens(framed) == _same_tokens(full), (url, user)
                assert "bbslot" not in framed
    # Bob's marks are his: "you voted" on the question he voted on, for him alone.
    client = Client()
    client.force_login(bob)
    assert "badge-voted" in client.get("/").content.decode()
    assert "badge-voted" not in Client().get("/").content.decode()


def test_a_later_page_or_another_query_is_rendered_in_full(make_question, client, renders):
    # A list's frame holds nothing of its questions (the rows have a slot): one may be kept
    # from an earlier test in this worker.
    caches["fragments"].clear()
    for n in range(3):
        make_question(f"Question {n}?", ("Yes", "No"))
    client.get("/")
    client.get("/")
    assert renders.count("polls/home.html") == 1
    client.get("/?order=no-such-order")
    client.get("/?utm_source=feed")
    assert renders.count("polls/home.html") == 3
