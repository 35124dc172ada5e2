"""Search on MariaDB's FULLTEXT index: what a visitor types and what they find.

InnoDB adds rows to a FULLTEXT index only when their transaction commits, so
these tests commit (transaction=True) instead of rolling back.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from polls import search, services
from polls.models import Choice, Question

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ask(db):
    """Publish a question; choices are saved one by one, as the admin does."""

    def make(title: str, choices: tuple[str, ...] = ("Yes", "No"), **fields) -> Question:
        fields.setdefault("status", Question.Status.PUBLISHED)
        question = Question.objects.create(title=title, **fields)
        for position, text in enumerate(choices):
            Choice.objects.create(question=question, text=text, position=position)
        return question

    return make


@pytest.fixture
def catalogue(ask) -> None:
    ask("What is the best ramen?", ("Ichiran", "Menya Kotetsu"), description="Tonkotsu or shio.")
    ask("Should voting be compulsory?", description="Some countries fine people who skip it.")
    ask("Which programming languages do you enjoy?", ("Python", "Go", "Rust"))
    ask("Who will win the cup?", ("The reds", "The blues"))
    ask("Is AI-generated music real music?")
    ask("Best ramen in Tokyo?", ("Shinjuku", "Shibuya"))


def found(client, query: str) -> list[str]:
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return re.findall(r'class="row-title" href="[^"]*">([^<]*)</a>', response.content.decode())


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("compulsory", ["Should voting be compulsory?"]),  # a word of the title
        ("countries", ["Should voting be compulsory?"]),  # of the description
        ("tonkotsu", ["What is the best ramen?"]),
        ("kotetsu", ["What is the best ramen?"]),  # of a choice
        ("Shibuya", ["Best ramen in Tokyo?"]),
        ("vot", ["Should voting be compulsory?"]),  # the start of a word
        ("RAMEN", ["Best ramen in Tokyo?", "What is the best ramen?"]),
        ("ramen tokyo", ["Best ramen in Tokyo?"]),  # every word must match
        ("ramen python", []),
        ("go", ["Which programming languages do you enjoy?"]),  # short words
        ("AI music", ["Is AI-generated music real music?"]),
    ],
)
def test_finds_questions_by_their_words(client, catalogue, query, titles):
    assert sorted(found(client, query)) == titles


@pytest.mark.parametrize(
    ("query", "title"),
    [
        # Words InnoDB leaves out of its index by default ("what", "the", "who",
        # "will", "is") are words a visitor naturally types.
        ("what ramen", "What is the best ramen?"),
        ("the best ramen", "What is the best ramen?"),
        ("who will win", "Who will win the cup?"),
        ("what is the best", "What is the best ramen?"),
    ],
)
def test_common_words_do_not_stop_a_question_being_found(client, catalogue, query, title):
    assert title in found(client, query)


def test_empty_search_says_how_to_search_and_offers_tags(client, make_question):
    make_question("Best ramen?", tags=("Food",))
    for url in ("/search/", "/search/?q=", "/search/?q=+++"):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Type a few words to find questions" in html
        assert '<a class="tag" href="/tags/food/">Food</a>' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("ramen " * 84, "That search is too long; use at most 200 characters."),
        ("!!!", "That search has no words in it. Try letters or numbers."),
        ("+++***", "That search has no words in it. Try letters or numbers."),
        ("a b c d e f g h i j", "Only the first 8 words were used."),
    ],
)
def test_unusable_search_gets_a_clear_message(client, catalogue, query, message):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "' OR 1=1 --",
        '"unbalanced',
        "ramen*",
        "-ramen",
        "+ramen +",
        "(ramen",
        "ramen) (",
        "@ramen",
        "~ramen <tokyo",
        "%",
        "_",
        "\\",
        "r" * 150,  # longer than any word InnoDB indexes
        "ラーメン",
    ],
)
def test_odd_input_never_errors(client, catalogue, query):
    found(client, query)


def test_only_public_questions_are_found(client, ask):
    ask("Ramen open for votes")
    ask("Ramen closed by a moderator", status=Question.Status.CLOSED)
    for status in ("draft", "pending", "hidden"):
        ask(f"Ramen {status}", status=status)
    assert sorted(found(client, "ramen")) == [
        "Ramen closed by a moderator",
        "Ramen open for votes",
    ]
    assert found(client, "hidden") == []
    assert found(client, "dr") == []  # the LIKE path for short words filters too


def test_the_count_of_matches_reads_as_a_sentence(client, catalogue):
    one = client.get("/search/", {"q": "compulsory"}).content.decode()
    assert "1 question matches “compulsory”." in one
    two = client.get("/search/", {"q": "ramen"}).content.decode()
    assert "2 questions match “ramen”." in two


def test_a_search_that_finds_nothing_offers_to_ask_it(client, catalogue):
    html = client.get("/search/", {"q": "Is pineapple on pizza fine?"}).content.decode()
    assert "No question matches “Is pineapple on pizza fine?” yet." in html
    assert 'href="/ask/?title=Is%20pineapple%20on%20pizza%20fine%3F"' in html


def test_search_results_say_you_voted_to_the_member_who_did(client, alice, catalogue):
    question = Question.objects.get(title="Should voting be compulsory?")
    services.cast_vote(user=alice, question=question, choice_ids=[question.choices.first().pk])
    client.force_login(alice)
    html = client.get("/search/", {"q": "voting"}).content.decode()
    assert "badge-voted" in html
    client.logout()
    assert "badge-voted" not in client.get("/search/", {"q": "voting"}).content.decode()


def test_tags_are_searched_by_their_names(client, ask):
    from polls.models import Tag

    cafe = Tag.objects.create(name="Café", slug="café")
    question = ask("Where is the best espresso in town?")
    question.tags.add(cafe)
    ask("Is a café a good place to work?")
    assert sorted(found(client, "café")) == [
        "Is a café a good place to work?",
        "Where is the best espresso in town?",
    ]
    # A renamed tag is found by its new name, and tags taken off are no longer searched.
    cafe.name = "Coffee houses"
    cafe.save()
    assert found(client, "houses") == ["Where is the best espresso in town?"]
    question.tags.remove(cafe)
    assert found(client, "houses") == []


@pytest.fixture
def go_questions(ask) -> list[Question]:
    """Five questions with the short word "go", from the most voted to the least."""
    made = []
    for votes in (50, 40, 30, 20, 10):
        question = ask(f"Learn go in {votes} days?", ("Go", "Rust"))
        Question.objects.filter(pk=question.pk).update(voter_count=votes)
        made.append(question)
    return made


def test_short_and_common_words_alone_search_only_the_most_voted(client, go_questions, monkeypatch):
    # Words the FULLTEXT index cannot answer are matched with LIKE, row by row: alone, they
    # read a bounded number of questions (the most voted), never the whole table.
    monkeypatch.setattr(search, "LIKE_ONLY_SCAN", 3)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/search/", {"q": "go in"})
    # Read before the next request, which empties Django's query log.
    sql = [query["sql"] for query in queries]
    assert found(client, "go in") == [question.title for question in go_questions[:3]]
    assert "search the 3 most voted questions only" in response.content.decode()
    likes = [text for text in sql if "LIKE" in text]
    assert likes and all(re.search(r"`id` IN \(\d+, \d+, \d+\)", text) for text in likes)
    ranked = [text for text in sql if "LIKE" not in text and "`voter_count` AS" in text]
    assert ranked and all(text.endswith("LIMIT 3") for text in ranked)


def test_with_a_longer_word_the_index_searches_every_question(client, go_questions, monkeypatch):
    monkeypatch.setattr(search, "LIKE_ONLY_SCAN", 3)
    response = client.get("/search/", {"q": "learn go"})
    assert found(client, "learn go") == [q.title for q in go_questions]
    assert "most voted questions only" not in response.content.decode()
