"""Atom feeds: new questions, new questions of a tag, and closed questions with their result.

Built with Django's syndication framework from one query for the questions (and one for their
tags; the closed feed adds two for the counts), the newest FEED_SIZE of each, and kept whole in
memcached (polls.whole_responses). Only public questions are in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib.syndication.views import Feed
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape, linebreaks

from polls import history, reads
from polls.models import Question, Tag
from polls.results import results

FEED_SIZE = 30


def _newest(questions: QuerySet[Question]) -> list[Question]:
    return list(
        questions.order_by("-published_at", "-id")
        .defer("search_text")
        .prefetch_related("tags")[:FEED_SIZE]
    )


class _QuestionFeed(Feed):
    """What every entry shows of its question; ``question_of`` finds it in an item (the item
    itself, unless a feed says otherwise)."""

    feed_type = Atom1Feed

    def question_of(self, item: Any) -> Question:
        return cast(Question, item)

    def item_title(self, item: Any) -> str:
        return self.question_of(item).title

    def item_description(self, item: Any) -> str:
        # The feed's summaries are HTML: the question's text is plain, so it is escaped.
        question = self.question_of(item)
        return linebreaks(escape(question.description or question.title))

    def item_link(self, item: Any) -> str:
        return self.question_of(item).get_absolute_url()

    def item_pubdate(self, item: Any) -> datetime | None:
        return self.question_of(item).published_at

    def item_categories(self, item: Any) -> list[str]:
        return [tag.name for tag in self.question_of(item).tags.all()]


class NewQuestionsFeed(_QuestionFeed):
    title = "Beebeta: new questions"
    subtitle = "The newest public questions on Beebeta."

    def link(self) -> str:
        return reverse("polls:home") + "?order=newest"

    def items(self) -> list[Question]:
        return _newest(Question.objects.public())


class TagFeed(_QuestionFeed):
    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Tag:
        tag = reads.tag(kwargs["slug"])
        if tag is None:
            raise Http404("No such tag.")
        return tag

    def title(self, obj: Tag) -> str:
        return f"Beebeta: new questions tagged {obj.name}"

    def subtitle(self, obj: Tag) -> str:
        return f"The newest public questions about {obj.name} on Beebeta."

    def link(self, obj: Tag) -> str:
        return obj.get_absolute_url() + "?order=newest"

    def items(self, obj: Tag) -> list[Question]:
        return _newest(Question.objects.public().filter(tags=obj))


@dataclass(frozen=True)
class ClosedQuestion:
    question: Question
    result: str


class ClosedQuestionsFeed(_QuestionFeed):
    title = "Beebeta: final results"
    subtitle = "Questions whose voting has ended, each with its final result."

    def link(self) -> str:
        return reverse("polls:home") + "?order=newest"

    def items(self) -> list[ClosedQuestion]:
        now = timezone.now()
        ended = Q(status=Question.Status.CLOSED) | Q(
            status=Question.Status.PUBLISHED, closes_at__lte=now
        )
        questions = list(
            Question.objects.public()
            .filter(ended)
            .annotate(ended_at=Coalesce(F("closes_at"), F("published_at")))
            .order_by("-ended_at", "-id")
            .defer("search_text")
            .prefetch_related("tags", "choices")[:FEED_SIZE]
        )
        figures = history.read_figures([question.pk for question in questions])
        return [
            ClosedQuestion(question, _final_result(question, *figures[question.pk], now=now))
            for question in questions
        ]

    def question_of(self, item: ClosedQuestion) -> Question:
        return item.question

    def item_description(self, item: ClosedQuestion) -> str:
        return f"<p>{escape(item.result)}</p>"

    def item_pubdate(self, item: ClosedQuestion) -> datetime | None:
        return item.question.closes_at or item.question.published_at


def _final_result(question: Question, voters: int, votes: dict[str, int], *, now) -> str:
    """The results block's headline, in one line: "Most said “No”: 56% (41–69%) of 45 voters"."""
    if not question.results_visible_to(has_voted=False, now=now):
        return "The results are not public."
    said = results(
        list(question.choices.all()),
        {int(choice): n for choice, n in votes.items()},
        voters,
        closed=True,
        multiple=question.allows_multiple,
    ).headline
    return f"{said.lead}: {said.figures}" if said.figures else said.lead
