"""The public pages: lists, tags, question pages, their order, paging and query cost."""

from __future__ import annotations

import base64
import functools
import html as html_lib
import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.utils import timezone

from polls import rankings, services
from polls.models import Choice, Image, Question, Tag

HOUR = timedelta(hours=1)
ROW_TITLE = re.compile(r'class="row-title" href="[^"]*">([^<]*)</a>')


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def rows(html: str) -> dict[str, str]:
    """Each listed question's title and the markup of its row, in page order."""
    listing = html.partition('<ol class="question-list">')[2].partition("</ol>")[0]
    chunks = listing.split('<li class="question-row">')[1:]
    return {ROW_TITLE.search(chunk).group(1): chunk for chunk in chunks}


def listed(html: str) -> list[str]:
    return list(rows(html))


def pager_link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return html_lib.unescape(found.group(1)) if found else None


def cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def publish_many(count: int, *, tag: Tag | None = None, prefix: str = "Poll") -> list[Question]:
    """``count`` published questions with the same moment and figures: every order ties."""
    at = timezone.now() - 3 * HOUR
    questions = Question.objects.bulk_create(
        Question(
            title=f"{prefix} {i:03d}", slug=f"{prefix}-{i:03d}", published_at=at, status="published"
        )
        for i in range(count)
    )
    if tag is not None:
        through = Question.tags.through
        through.objects.bulk_create(through(question=q, tag=tag) for q in questions)
    return questions


def make_image() -> Image:
    return Image.objects.create(
        original="originals/a.jpg", display="display/a.jpg", display_width=800,
        display_height=600, thumbnail="thumbs/a.jpg", thumbnail_width=128, thumbnail_height=96,
    )  # fmt: skip


@pytest.mark.parametrize("url", ["/", "/tags/food/"])
def test_list_row_shows_title_tags_votes_age_and_thumbnail(client, make_question, url):
    question = make_question("Best ramen?", tags=("Food", "City"), image=make_image())
    make_question("Imageless?", tags=("Food",))
    Question.objects.filter(pk=question.pk).update(
        voter_count=1234, published_at=timezone.now() - 3.1 * HOUR
    )
    shown = rows(page(client, url))
    row = shown["Best ramen?"]
    assert '<a class="tag" href="/tags/food/">Food</a>' in row
    assert '<a class="tag" href="/tags/city/">City</a>' in row
    assert "1,234 votes" in row and "0 votes" in shown["Imageless?"]
    assert re.search(r"asked <time datetime=\"[^\"]+\">3\s+hours ago</time>", row)
    assert '<img class="thumb" src="/media/thumbs/a.jpg" width="128" height="96"' in row
    assert "<img" not in shown["Imageless?"]


def test_orders_sort_by_their_figures(client, settings, make_question):
    settings.LIST_CACHE_SECONDS = 0
    # title: votes_24h, votes_7d, voter_count, hours since publication
    for title, day, week, voters, hours in [
        ("Calm", 0, 0, 90, 1), ("Hot", 5, 9, 10, 30), ("Warm", 5, 6, 40, 20),
        ("Slow burn", 1, 100, 200, 10),
    ]:  # fmt: skip
        Question.objects.filter(pk=make_question(title).pk).update(
            votes_24h=day, votes_7d=week, voter_count=voters,
            published_at=timezone.now() - hours * HOUR,
        )  # fmt: skip
    assert listed(page(client, "/")) == listed(page(client, "/?order=trending"))
    assert listed(page(client, "/?order=trending")) == ["Hot", "Warm", "Slow burn", "Calm"]
    assert listed(page(client, "/?order=newest")) == ["Calm", "Slow burn", "Warm", "Hot"]
    assert listed(page(client, "/?order=most-voted")) == ["Slow burn", "Calm", "Warm", "Hot"]


@pytest.mark.parametrize("order", ["trending", "newest", "most-voted"])
def test_pages_walk_forward_and_back_without_gaps_or_repeats(client, db, order):
    publish_many(45)
    html = page(client, f"/?order={order}")
    pages = [listed(html)]
    while link := pager_link(html, "next"):
        html = page(client, "/" + link)
        pages.append(listed(html))
    assert [len(titles) for titles in pages] == [20, 20, 5]
    everything = [title for titles in pages for title in titles]
    assert sorted(everything) == [f"Poll {i:03d}" for i in range(45)]

    back = [pages[-1]]
    while link := pager_link(html, "prev"):
        html = page(client, "/" + link)
        back.insert(0, listed(html))
    assert back == pages


@pytest.mark.parametrize("order", ["trending", "newest", "most-voted"])
def test_published_and_closed_questions_interleave_in_one_order_across_pages(client, db, order):
    # Lists read each public status on its own and merge them: every page, forward and back,
    # must still be the one order over both, with ties broken by id.
    questions = publish_many(45)
    for i, question in enumerate(questions):
        question.status = "closed" if i % 3 == 0 else "published"
        question.voter_count = question.votes_7d = i % 7
        question.votes_24h = i % 4
        question.published_at -= timedelta(minutes=i % 5)
    fields = ["status", "voter_count", "votes_7d", "votes_24h", "published_at"]
    Question.objects.bulk_update(questions, fields)
    keys = {
        "trending": lambda q: (q.votes_24h, q.votes_7d, q.pk),
        "newest": lambda q: (q.published_at, q.pk),
        "most-voted": lambda q: (q.voter_count, q.pk),
    }
    # Trending lists open questions only.
    listed_here = [q for q in questions if order != "trending" or q.status == "published"]
    expected = [q.title for q in sorted(listed_here, key=keys[order], reverse=True)]

    html = page(client, f"/?order={order}")
    pages = [listed(html)]
    while link := pager_link(html, "next"):
        html = page(client, "/" + link)
        pages.append(listed(html))
    assert [title for titles in pages for title in titles] == expected
    back = [pages[-1]]
    while link := pager_link(html, "prev"):
        html = page(client, "/" + link)
        back.insert(0, listed(html))
    assert back == pages


@pytest.mark.parametrize("param", ["after", "before"])
@pytest.mark.parametrize(
    "token",
    ["garbage", "%%%", cursor([1, 2]), cursor(["not a date", 1]), cursor([True, 1]),
     # The shape of a real cursor, with moments no row can have.
     cursor(["9999-12-31T23:59:59-05:00", 1]), cursor(["0001-01-01T00:00:00+05:00", 1]),
     cursor(["2026-13-45T00:00:00+00:00", 1])],
    ids=["garbage", "percent", "ints", "not-a-date", "bool", "year-9999", "year-1", "month-13"],
)  # fmt: skip
def test_edited_cursor_starts_over_at_the_first_page(client, question, param, token):
    response = client.get(f"/?order=newest&{param}={token}")
    assert response.status_code == 302
    assert response["Location"] == "/?order=newest"


@pytest.mark.parametrize(
    ("address", "first_page"),
    [
        ("/?after=garbage", "/"),
        ("/?order=most-voted&before=garbage", "/?order=most-voted"),
        ("/tags/food/?order=newest&after=garbage", "/tags/food/?order=newest"),
        ("/tags/food/?order=nonsense&after=garbage", "/tags/food/"),
    ],
)
def test_the_first_page_of_an_edited_cursor_keeps_its_list_and_order(
    client, make_question, address, first_page
):
    make_question(tags=("Food",))
    response = client.get(address)
    assert response.status_code == 302
    assert response["Location"] == first_page


def test_tag_page_paginates(client, db):
    food = Tag.objects.create(name="Food", slug="food")
    publish_many(25, tag=food, prefix="Food")
    publish_many(10, prefix="Other")
    html = page(client, "/tags/food/")
    second = listed(page(client, "/tags/food/" + pager_link(html, "next")))
    assert (len(listed(html)), len(second)) == (20, 5)
    assert sorted(listed(html) + second) == [f"Food {i:03d}" for i in range(25)]


def test_only_public_questions_are_listed_and_closed_ones_say_so(
    client, make_question, closed_question
):
    for status in ("draft", "pending", "hidden"):
        make_question(f"A {status} question", tags=("Food",), status=status)
    make_question("Open", tags=("Food",))
    make_question("Closed by a moderator", tags=("Food",), status=Question.Status.CLOSED)
    ended = closed_question  # still "published", but its closing time has passed
    ended.tags.add(Tag.objects.get(slug="food"))
    for url in ("/?order=newest", "/?order=most-voted", "/tags/food/?order=newest"):
        shown = rows(page(client, url))
        assert sorted(shown) == sorted(["Open", "Closed by a moderator", ended.title])
        assert "badge-closed" not in shown["Open"]
        assert "badge-closed" in shown["Closed by a moderator"]
        # Its own page says "closed"; the list must not offer it as open.
        assert "badge-closed" in shown[ended.title], url
    # Trending, the default order, is for questions still open to votes.
    for url in ("/", "/?order=trending", "/tags/food/"):
        assert list(rows(page(client, url))) == ["Open"], url


# --- What a page costs -------------------------------------------------------------


@pytest.mark.parametrize("population", [20, 200])
def test_list_pages_cost_the_same_whatever_the_number_of_questions(
    client, db, django_assert_num_queries, population
):
    questions = publish_many(population, tag=Tag.objects.create(name="Food", slug="food"))
    Question.objects.filter(pk__in=[q.pk for q in questions[::3]]).update(image=make_image())
    # Cold: a page of published questions and one of closed ones (each read in index order),
    # then their tags; the first tag page first finds its tag (then cached). Trending, the
    # default order, reads open questions only. Warm: none.
    for url, cold, warm in [
        ("/?order=newest", 3, 0),
        ("/", 2, 0),
        ("/tags/food/?order=newest", 4, 0),
        ("/tags/food/", 2, 0),
    ]:
        with django_assert_num_queries(cold):
            page(client, url)
        with django_assert_num_queries(warm):
            page(client, url)


@pytest.fixture
def busy_question(request, make_question, alice):
    """A question with ``choices`` choices, all with images, and ``voters`` voters."""
    choices, voters = request.param
    question = make_question(
        "Busy?", tuple(f"Choice {i}" for i in range(choices)), tags=("Food", "City"),
        image=make_image(), author=alice, max_choices=min(3, choices),
    )  # fmt: skip
    Choice.objects.filter(question=question).update(image=make_image())
    ids = list(question.choices.values_list("pk", flat=True))
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"v{i}") for i in range(voters))
    for i, user in enumerate(users):
        services.cast_vote(user=user, question=question, choice_ids=ids[i % choices :][:2])
    return question


SMALL_AND_BUSY = pytest.mark.parametrize(
    "busy_question", [(2, 1), (12, 30)], indirect=True, ids=["2x1", "12x30"]
)


@SMALL_AND_BUSY
@pytest.mark.parametrize(
    ("member", "cold", "warm"),
    # Cold: the question, its tags, its choices, two counter sums, its history's days and group
    # splits, its integrity figures and co-voting; a member adds the user and the ballot. Warm:
    # none (the session and the member's account are in the cache).
    [(False, 9, 0), (True, 11, 0)],
    ids=["anonymous", "member"],
)
def test_question_page_cost_does_not_grow_with_choices_or_votes(
    client, bob, busy_question, django_assert_num_queries, member, cold, warm
):
    if member:
        client.force_login(bob)
    with django_assert_num_queries(cold):
        page(client, busy_question.get_absolute_url())
    with django_assert_num_queries(warm):
        html = page(client, busy_question.get_absolute_url())
    assert html.count('class="choice-option"') == busy_question.choices.count()
    assert 'src="/media/display/a.jpg" width="800" height="600"' in html


def _recorded(real, name: str, calls: list, key, *args, **kwargs):
    calls.append((name, str(key)))
    return real(key, *args, **kwargs)


@SMALL_AND_BUSY
@pytest.mark.parametrize("member", [False, True], ids=["anonymous", "member"])
def test_warm_question_page_reads_the_cache_in_one_round_trip(
    client, bob, busy_question, monkeypatch, member
):
    if member:
        client.force_login(bob)
    page(client, busy_question.get_absolute_url())
    calls: list[tuple[str, str]] = []
    backend = caches["default"]
    for name in ("get", "get_many"):
        spy = functools.partial(_recorded, getattr(backend, name), name, calls)
        monkeypatch.setattr(backend, name, spy)
    page(client, busy_question.get_absolute_url())
    # A member's session is one get, their account another (accounts/session_user.py).
    page_data = [name for name, key in calls if "sessions" not in key and not key.startswith("u:")]
    assert page_data == ["get_many"]
    assert len(calls) == (3 if member else 1)


# --- Addresses and results ----------------------------------------------------------


def test_slug_is_made_from_the_title_and_unique(client, make_question):
    first, second = make_question("Best ramen in Tokyo?"), make_question("Best ramen in Tokyo?")
    accented = make_question("Best ramen in Tōkyō?")  # the same slug to MariaDB's collation
    assert first.slug == "best-ramen-in-tokyo"
    assert len({first.slug, second.slug, accented.slug}) == 3
    for question in (first, second, accented):
        assert f"<h1>{question.title}</h1>" in page(client, question.get_absolute_url())


def test_non_ascii_title_gets_a_working_page(client, make_question):
    question = make_question("ラーメンはどこが一番？", ("博多", "札幌"))
    assert question.slug == "ラーメンはどこが一番"
    html = page(client, question.get_absolute_url())
    assert "<h1>ラーメンはどこが一番？</h1>" in html and "札幌" in html
    assert question.title in listed(page(client, "/"))


def test_slug_stays_when_the_title_is_edited_after_publishing(client, question):
    old_url = question.get_absolute_url()
    page(client, old_url)
    question.title = "Which shop has the best ramen?"
    question.save()
    question.refresh_from_db()
    assert question.get_absolute_url() == old_url
    assert "<h1>Which shop has the best ramen?</h1>" in page(client, old_url)


def test_multiple_choice_shares_are_of_voters_and_may_add_above_100(
    client, alice, bob, staff, make_question
):
    question = make_question("Which do you eat?", ("Ramen", "Udon", "Soba"), max_choices=3)
    ramen, udon, soba = question.choices.values_list("pk", flat=True)
    services.cast_vote(user=alice, question=question, choice_ids=[ramen, udon])
    services.cast_vote(user=bob, question=question, choice_ids=[ramen, soba])
    services.cast_vote(user=staff, question=question, choice_ids=[ramen])
    html = page(client, question.get_absolute_url())
    assert "<strong>3</strong> people have voted" in html
    assert "shares add up to more than 100%" in html
    shares = re.findall(
        r'scope="row">(\w+)</th>.*?"num">(\d+)</td>\s*<td class="num share">([\d.]+)%', html, re.S
    )
    assert shares == [("Ramen", "3", "100"), ("Udon", "1", "33"), ("Soba", "1", "33")]


# --- What a card says ---------------------------------------------------------------------


def vote_for(question: Question, picks: list[str]) -> None:
    User = get_user_model()
    for n, text in enumerate(picks):
        voter = User.objects.create_user(username=f"{question.pk}-voter-{n}")
        choice = question.choices.get(text=text)
        services.cast_vote(user=voter, question=question, choice_ids=[choice.pk])
    # Votes after the first refresh the list's copies on a timer (refresh_rankings).
    rankings.refresh(question_ids=[question.pk])


def test_a_card_shows_the_leading_answer_and_its_share_when_results_are_public(
    client, make_question
):
    open_results = make_question("Tea or coffee?", ("Tea", "Coffee"))
    vote_for(open_results, ["Tea"] * 4 + ["Coffee"] * 8)
    early = make_question("Early days?", ("Yes", "No"))
    vote_for(early, ["Yes", "Yes", "No"])
    tied = make_question("Cats or dogs?", ("Cats", "Dogs"))
    vote_for(tied, ["Cats", "Dogs"])
    make_question("Nobody voted yet?", ("Yes", "No"))
    secret = make_question(
        "Secret until the end?",
        ("Yes", "No"),
        results_visibility=Question.Results.AFTER_CLOSE,
        closes_at=timezone.now() + timedelta(days=30),
    )
    vote_for(secret, ["Yes"])
    shown = rows(page(client, "/?order=newest"))
    assert (
        'Leading: <strong>Coffee</strong> <span class="share">67%</span>' in shown["Tea or coffee?"]
    )
    assert "Tied at the top." in shown["Cats or dogs?"]
    # Under ten voters, a share would only look precise.
    assert (
        'Leading: <strong>Yes</strong> <span class="hint">(too few votes to tell)</span>'
        in (shown["Early days?"])
    )
    assert "No votes yet: be the first." in shown["Nobody voted yet?"]
    assert "row-lead" not in shown["Secret until the end?"]


def test_a_card_says_when_it_closes_soon_and_what_most_said_once_closed(client, make_question):
    soon = make_question("Closing soon?", ("Yes", "No"), closes_at=timezone.now() + 5.5 * HOUR)
    make_question("Closing next month?", ("Yes", "No"), closes_at=timezone.now() + 900 * HOUR)
    ended = make_question("Over already?", ("Yes", "No"))
    vote_for(ended, ["No"] * 7 + ["Yes"] * 3)
    Question.objects.filter(pk=ended.pk).update(closes_at=timezone.now() - HOUR)
    shown = rows(page(client, "/?order=newest"))
    assert re.search(r'badge-soon">closes in 5\s+hours<', shown[soon.title])
    assert "closes in" not in shown["Closing next month?"]
    assert "badge-closed" in shown["Over already?"] and "closes in" not in shown["Over already?"]
    assert "Most said <strong>No</strong>" in shown["Over already?"]


def test_visitors_are_told_what_beebeta_is_and_invited_to_ask(client, alice, question):
    home = page(client, "/")
    assert "Beebeta is a public record of opinions" in home
    assert '<a class="button primary" href="/ask/">Ask a question</a>' in home
    client.force_login(alice)
    signed_in = page(client, "/")
    assert "Beebeta is a public record of opinions" not in signed_in
    assert '<a class="button primary" href="/ask/">Ask a question</a>' in signed_in


def test_an_empty_list_says_what_to_do_next(client, db):
    Tag.objects.create(name="Empty", slug="empty")
    for url in ("/", "/tags/empty/"):
        html = page(client, url)
        assert "No questions here yet." in html and 'href="/ask/">ask a question</a>' in html


def test_the_tag_page_breadcrumb_ends_in_the_tag(client, make_question):
    make_question("Best ramen?", tags=("Food",))
    html = page(client, "/tags/food/")
    assert '<nav class="crumbs" aria-label="Breadcrumb">' in html
    assert '<li><a href="/tags/">Tags</a></li><li aria-current="page">Food</li>' in html


def test_members_see_you_voted_on_their_cards_and_nobody_else_does(
    client, alice, bob, make_question
):
    tea = make_question("Tea or coffee?", ("Tea", "Coffee"), tags=("Drinks",))
    cats = make_question("Cats or dogs?", ("Cats", "Dogs"), tags=("Drinks",))
    services.cast_vote(user=alice, question=tea, choice_ids=[tea.choices.first().pk])
    anonymous = page(client, "/")  # the list is now cached for everyone
    assert "you voted" not in anonymous and "<!--voted" not in anonymous
    client.force_login(alice)
    for url in ("/", "/tags/drinks/"):
        html = page(client, url)
        assert "badge-voted" in rows(html)["Tea or coffee?"], url
        assert "<!--voted" not in html
    assert "badge-voted" not in rows(page(client, "/"))["Cats or dogs?"]
    # A first vote shows at once, though the list itself is reused.
    services.cast_vote(user=alice, question=cats, choice_ids=[cats.choices.first().pk])
    assert "badge-voted" in rows(page(client, "/"))["Cats or dogs?"]
    client.force_login(bob)
    assert "badge-voted" not in page(client, "/")
