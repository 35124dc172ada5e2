"""The public activity heatmaps of a question and of a tag: the roll-up rows, in the reader's
time zone, with the cells under the minimum hidden."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from polls import services
from polls.insights import counting
from polls.models import Question, QuestionGroupHourly

K = 10
ZONE = "Asia/Kolkata"  # +05:30: each UTC hour is shown at the local hour it starts in


def rows_of(html: str, group: str) -> list[list[str]]:
    table = html[html.index(f'<table id="table-{group}">') :]
    table = table[: table.index("</table>")]
    body = table[table.index("<tbody>") :]
    return [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def expected_grid(rows, zone: str, minimum: int) -> list[list[str]]:
    cells: Counter[tuple[int, int]] = Counter()
    for row in rows:
        local = row.hour.astimezone(ZoneInfo(zone))
        cells[local.weekday(), local.hour] += row.views + row.votes
    return [
        [
            f"fewer than {minimum}" if 0 < cells[day, hour] < minimum else str(cells[day, hour])
            for hour in range(24)
        ]
        for day in range(7)
    ]


@pytest.fixture
def hours() -> list[datetime]:
    top = timezone.now().replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=n) for n in (1, 2, 5, 30, 50, 200, 400)]


def add_rows(question, hours, group: str, values) -> None:
    QuestionGroupHourly.objects.bulk_create(
        QuestionGroupHourly(question=question, hour=hour, group=group, views=v, votes=w)
        for hour, (v, w) in zip(hours, values, strict=True)
    )


def test_the_question_heatmap_is_its_roll_up_rows_in_the_readers_zone(client, make_question, hours):
    question = make_question("When?", ("Yes", "No"))
    other = make_question("Elsewhere?", ("Yes", "No"))
    add_rows(
        question,
        hours,
        "established",
        [(20, 3), (12, 0), (3, 1), (40, 9), (0, 10), (11, 0), (9, 2)],
    )
    add_rows(
        question, hours, "anonymous", [(15, 0), (2, 0), (30, 0), (0, 0), (10, 0), (5, 0), (60, 0)]
    )
    add_rows(other, hours, "established", [(100, 50)] * len(hours))
    client.cookies["tz"] = ZONE
    html = client.get(reverse("polls:question_activity", args=[question.slug])).content.decode()
    assert f"<strong>{ZONE}</strong>" in html
    for group in ("established", "anonymous"):
        rows = QuestionGroupHourly.objects.filter(question=question, group=group)
        assert rows_of(html, group) == expected_grid(rows, ZONE, K)
    assert "fewer than 10" in html
    # The counts under each group leave the hidden hour (3 views, 1 vote) out.
    assert "92 views and 24 votes in the hours shown" in html


def test_the_tag_heatmap_sums_its_public_questions(client, make_question, hours):
    one = make_question("One?", ("Yes", "No"), tags=("Food",))
    two = make_question("Two?", ("Yes", "No"), tags=("Food",))
    hidden = make_question("Hidden?", ("Yes", "No"), tags=("Food",), status=Question.Status.HIDDEN)
    add_rows(one, hours[:2], "new", [(16, 0), (18, 1)])
    add_rows(two, hours[:2], "new", [(14, 0), (11, 0)])
    add_rows(hidden, hours[:2], "new", [(500, 0), (500, 0)])
    html = client.get(reverse("polls:tag_activity", args=["food"])).content.decode()
    shown = [cell for row in rows_of(html, "new") for cell in row if cell != "0"]
    assert sorted(shown) == ["30", "30"]


def test_a_tag_never_gives_away_a_questions_hidden_hour(client, make_question, hours):
    """A differencing attack: the tag's cell minus one question's would be the other's hidden
    one. The tag adds up only what its questions' own pages show."""
    one = make_question("Shown?", ("Yes", "No"), tags=("Food",))
    few = make_question("Few?", ("Yes", "No"), tags=("Food",))
    add_rows(one, hours[:2], "established", [(15, 0), (0, 0)])
    add_rows(few, hours[:2], "established", [(3, 0), (4, 0)])
    url = reverse("polls:tag_activity", args=["food"])
    cells = [
        cell for row in rows_of(client.get(url).content.decode(), "established") for cell in row
    ]
    assert "15" in cells and "18" not in cells
    assert cells.count("fewer than 10") == 1
    page = client.get(reverse("polls:question_activity", args=[few.slug])).content.decode()
    assert [c for row in rows_of(page, "established") for c in row if c != "0"] == [
        "fewer than 10",
        "fewer than 10",
    ]


def test_a_flush_writes_the_question_rows_of_views_and_first_votes(make_question):
    question = make_question("Counted?", ("Yes", "No"))
    newcomer = get_user_model().objects.create(username="newcomer", date_joined=timezone.now())
    for _ in range(3):
        counting.count_view(question_id=question.pk, user=None)
    counting.count_view(question_id=question.pk, user=newcomer)
    services.cast_vote(user=newcomer, question=question, choice_ids=[question.choices.first().pk])
    counting.flush()
    found = {
        row.group: (row.views, row.votes)
        for row in QuestionGroupHourly.objects.filter(question=question).exclude(views=0, votes=0)
    }
    assert found == {"anonymous": (3, 0), "new": (1, 1)}


def test_an_unknown_or_private_question_has_no_activity_page(client, make_question):
    draft = make_question("Draft?", ("Yes", "No"), status=Question.Status.DRAFT)
    assert client.get(reverse("polls:question_activity", args=[draft.slug])).status_code == 404
    assert client.get(reverse("polls:tag_activity", args=["nope"])).status_code == 404


def test_the_question_page_links_to_its_activity(client, make_question):
    question = make_question("Linked?", ("Yes", "No"))
    html = client.get(question.get_absolute_url()).content.decode()
    assert reverse("polls:question_activity", args=[question.slug]) in html
