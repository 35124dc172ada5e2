"""Finding questions by the words of their title, description, choices and tags.

On MySQL a FULLTEXT index over ``Question.search_text`` answers (see the
migration that creates it); SQLite, the embedded default, has no such index
here and matches every word with LIKE, which is fine at demo sizes. Both
require every word to appear, so results mean the same on either database.

The column is written by ``refresh_search_text``: the signals call it when a question, one of
its choices or its tags change (or a tag is renamed), and ``services.ask_question`` once for a
question and all its choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db import connection
from django.db.models import FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL

from polls.models import PUBLIC_STATUSES, Choice, Question, Tag

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MAX_RESULTS = 50
# How alike two titles must read (difflib's ratio) to be shown as "similar".
SIMILAR_TITLE_RATIO = 0.75
_SIMILAR_CANDIDATES = 50
# InnoDB's FULLTEXT index leaves out words shorter than this (innodb_ft_min_token_size).
_MYSQL_MIN_WORD = 3
# InnoDB's default FULLTEXT stopwords: never indexed, so a required "+what*"
# would match nothing. They go through LIKE with the short words instead.
_MYSQL_STOPWORDS = frozenset(
    "a about an are as at be by com de en for from how i in is it la of on or that the this "
    "to was what when where who will with und www".split()
)
# Words the FULLTEXT index cannot answer (short ones, stopwords) are matched with LIKE, which
# reads every row it is given. Beside an indexed word that is the index's few matches; alone it
# would be every public question, a full scan. Then only this many questions are searched, the
# most voted, read in order from the (status, voter_count, id) index.
LIKE_ONLY_SCAN = 2000
_WORD = re.compile(r"\w+", re.UNICODE)
_SEARCH_COLUMN = f"{Question._meta.db_table}.search_text"


@dataclass
class SearchOutcome:
    query: str
    questions: list[Question] = field(default_factory=list)
    # A sentence for the visitor when the query could not be used as typed.
    notice: str = ""
    searched: bool = False


def refresh_search_text(question_id: int) -> None:
    """Write the question's title, description, choices and tag names into its search column."""
    question = Question.objects.filter(pk=question_id).only("title", "description").first()
    if question is None:
        return
    choices = Choice.objects.filter(question_id=question_id).values_list("text", flat=True)
    tags = Tag.objects.filter(questions=question_id).values_list("name", flat=True)
    text = "\n".join([question.title, question.description, *choices, *tags])
    Question.objects.filter(pk=question_id).update(search_text=text)


def search(query: str) -> SearchOutcome:
    query = query.strip()
    outcome = SearchOutcome(query=query)
    if not query:
        outcome.notice = "Type a few words to find questions, or browse by tag below."
        return outcome
    if len(query) > MAX_QUERY_LENGTH:
        outcome.notice = f"That search is too long; use at most {MAX_QUERY_LENGTH} characters."
        return outcome
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(query)))
    if not words:
        outcome.notice = "That search has no words in it. Try letters or numbers."
        return outcome
    if len(words) > MAX_WORDS:
        outcome.notice = f"Only the first {MAX_WORDS} words were used."
        words = words[:MAX_WORDS]
    queryset = Question.objects.public().for_cards()
    indexed = _indexed_words(words)
    if not indexed:
        candidates = _most_voted_ids(LIKE_ONLY_SCAN)
        queryset = queryset.filter(pk__in=candidates)
        if len(candidates) == LIKE_ONLY_SCAN:
            bounded = (
                f"Short and common words alone search the {LIKE_ONLY_SCAN:,} most voted "
                "questions only: add a longer word to search them all."
            )
            outcome.notice = f"{outcome.notice} {bounded}".strip()
    outcome.questions = list(_matching(queryset, words, indexed)[:MAX_RESULTS])
    outcome.searched = True
    return outcome


def _indexed_words(words: list[str]) -> list[str]:
    """The words the FULLTEXT index answers (none without MySQL)."""
    if connection.vendor != "mysql":
        return []
    return [w for w in words if len(w) >= _MYSQL_MIN_WORD and w not in _MYSQL_STOPWORDS]


def _most_voted_ids(limit: int) -> list[int]:
    """The ``limit`` most voted public questions, each status read along its index in order
    (one IN over both would sort all of them first)."""
    ids: list[tuple[int, int]] = []
    for status in PUBLIC_STATUSES:
        rows = Question.objects.filter(status=status).order_by("-voter_count", "-id")
        ids += rows.values_list("voter_count", "id")[:limit]
    return [pk for _, pk in sorted(ids, reverse=True)[:limit]]


def _matching(queryset: QuerySet, words: list[str], indexed: list[str]) -> QuerySet:
    if indexed:
        # Boolean mode: every word required (+), as a prefix (*) so that
        # "vote" finds "voting". \w+ words carry no operator characters.
        expression = " ".join(f"+{w}*" for w in indexed)
        queryset = queryset.extra(  # noqa: S610  (parameterised; Django has no MATCH lookup)
            where=[f"MATCH({_SEARCH_COLUMN}) AGAINST (%s IN BOOLEAN MODE)"],
            params=[expression],
        )
    for word in words:
        if word not in indexed:
            queryset = queryset.filter(Q(search_text__icontains=word))
    return queryset.order_by("-voter_count", "-id")


def similar_questions(title: str, *, limit: int = 5) -> list[Question]:
    """Public questions whose title reads almost like ``title``, closest first."""
    candidates = {question.pk: question for question in search(title).questions}
    for question in _sharing_words(title):
        candidates.setdefault(question.pk, question)
    wanted = _comparable(title)
    scored = [
        (SequenceMatcher(None, wanted, _comparable(question.title)).ratio(), question)
        for question in candidates.values()
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1].pk))
    return [question for ratio, question in scored if ratio >= SIMILAR_TITLE_RATIO][:limit]


def _comparable(title: str) -> str:
    return " ".join(_WORD.findall(title.casefold()))


def _sharing_words(title: str) -> list[Question]:
    """Questions sharing some words with ``title``: search() wants every word,
    and a question asked again in other words shares only some of them."""
    queryset = Question.objects.public().only("pk", "title", "slug")
    if connection.vendor == "mysql":
        relevance = RawSQL(  # noqa: S611  (parameterised; Django has no MATCH lookup)
            f"MATCH({_SEARCH_COLUMN}) AGAINST (%s IN NATURAL LANGUAGE MODE)",
            [title],
            output_field=FloatField(),
        )
        queryset = queryset.annotate(relevance=relevance).filter(relevance__gt=0)
        return list(queryset.order_by("-relevance")[:_SIMILAR_CANDIDATES])
    words = sorted(set(_WORD.findall(title.casefold())), key=len, reverse=True)[:3]
    if not words:
        return []
    any_word = Q()
    for word in words:
        any_word |= Q(title__icontains=word)
    return list(queryset.filter(any_word).order_by("-voter_count")[:_SIMILAR_CANDIDATES])
