"""Finding questions by the words of their title, description and choices.

On MySQL a FULLTEXT index over ``Question.search_text`` answers (see the
migration that creates it); SQLite, the embedded default, has no such index
here and matches every word with LIKE, which is fine at demo sizes. Both
require every word to appear, so results mean the same on either database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet

from polls.models import Question

MAX_QUERY_LENGTH = 200
MAX_WORDS = 8
MAX_RESULTS = 50
# InnoDB's FULLTEXT index leaves out words shorter than this (innodb_ft_min_token_size).
_MYSQL_MIN_WORD = 3
# InnoDB's default FULLTEXT stopwords: never indexed, so a required "+what*"
# would match nothing. They go through LIKE with the short words instead.
_MYSQL_STOPWORDS = frozenset(
    "a about an are as at be by com de en for from how i in is it la of on or that the this "
    "to was what when where who will with und www".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)
_SEARCH_COLUMN = f"{Question._meta.db_table}.search_text"


@dataclass
class SearchOutcome:
    query: str
    questions: list[Question] = field(default_factory=list)
    # A sentence for the visitor when the query could not be used as typed.
    notice: str = ""
    searched: bool = False


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
    outcome.questions = list(_matching(queryset, words)[:MAX_RESULTS])
    outcome.searched = True
    return outcome


def _matching(queryset: QuerySet, words: list[str]) -> QuerySet:
    if connection.vendor == "mysql":
        indexed = [w for w in words if len(w) >= _MYSQL_MIN_WORD and w not in _MYSQL_STOPWORDS]
        others = [w for w in words if w not in indexed]
        if indexed:
            # Boolean mode: every word required (+), as a prefix (*) so that
            # "vote" finds "voting". \w+ words carry no operator characters.
            expression = " ".join(f"+{w}*" for w in indexed)
            queryset = queryset.extra(  # noqa: S610  (parameterised; Django has no MATCH lookup)
                where=[f"MATCH({_SEARCH_COLUMN}) AGAINST (%s IN BOOLEAN MODE)"],
                params=[expression],
            )
        words = others
    for word in words:
        queryset = queryset.filter(Q(search_text__icontains=word))
    return queryset.order_by("-voter_count", "-id")
