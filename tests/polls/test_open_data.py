"""Open data: a question's JSON and CSV, and the nightly dump, equal the rows in MariaDB, withhold
what the page withholds, name nobody, and cost the same whatever the data."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
from botocore.config import Config
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from polls import open_data, services
from polls.models import Ballot, Question, ResultDay, Vote
from polls.results import Share
from polls.templatetags.beebeta import interval, percent
from tests.conftest import empty_cache
from tests.polls.test_history_costs import snapshot_days
from tests.polls.test_page_costs import COLD_QUERIES, HISTORY_QUERIES, INSIGHT_QUERIES

User = get_user_model()


def voters(n: int, prefix: str = "voter") -> list:
    return [
        User.objects.create_user(f"{prefix}-{i}", f"{prefix}-{i}@example.org", "pw")
        for i in range(n)
    ]


def vote_spread(question: Question, people: list, picks: list[list[int]]) -> None:
    choices = list(question.choices.all())
    for person, chosen in zip(people, picks, strict=False):
        services.cast_vote(
            user=person, question=question, choice_ids=[choices[i].pk for i in chosen]
        )


def with_days(question: Question, days: int) -> None:
    """``days`` completed days of history before today, each a snapshot run."""
    start = timezone.now().date() - timedelta(days=days)
    question.published_at = datetime.combine(start, time(1), tzinfo=UTC)
    question.save(update_fields=["published_at"])
    snapshot_days(question, start, days)


def rows_in_mariadb(question: Question) -> tuple[int, dict[int, int]]:
    """Voters and votes per choice, counted from the vote rows themselves."""
    by_choice = Counter(Vote.objects.filter(question=question).values_list("choice_id", flat=True))
    return Ballot.objects.filter(question=question).count(), dict(by_choice)


def get_json(client: Client, question: Question) -> dict:
    response = client.get(f"/q/{question.slug}.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    return response.json()


def get_csv(client: Client, question: Question) -> list[dict]:
    response = client.get(f"/q/{question.slug}.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def polled(make_question, alice) -> Question:
    question = make_question(
        "Which season is best?", ("Spring", "Summer", "Autumn", "Winter"), tags=("Weather",)
    )
    vote_spread(question, voters(14), [[1]] * 11 + [[2]] * 2 + [[0]] * 1)
    with_days(question, 5)
    return question


def test_json_and_csv_equal_the_rows_in_mariadb_and_the_page(client, polled):
    voter_count, votes = rows_in_mariadb(polled)
    assert voter_count == 14
    data = get_json(client, polled)
    assert data["licence"] == "CC BY 4.0"
    assert data["url"] == f"http://testserver/q/{polled.slug}/"
    record = data["question"]
    assert record["title"] == polled.title and record["status"] == "open"
    assert [tag["name"] for tag in record["tags"]] == ["Weather"]
    assert record["results"]["voters"] == voter_count
    assert record["results"]["headline"] == "Most say “Summer”"
    page = client.get(polled.get_absolute_url()).content.decode()
    for row in record["results"]["choices"]:
        assert row["votes"] == votes.get(row["id"], 0)
        share = Share.of(row["votes"], voter_count)
        assert (row["percent"], row["interval_low"], row["interval_high"]) == (
            round(share.percent, 2),
            round(share.low, 2),
            round(share.high, 2),
        )
        # What the page prints for the same choice.
        printed = f'{percent(share)} <span class="range">{interval(share)}</span>'
        assert printed in page
    # Most voted first, as on the page.
    assert [row["text"] for row in record["results"]["choices"]] == [
        "Summer",
        "Autumn",
        "Spring",
        "Winter",
    ]
    # The history: every day's row, as stored.
    stored = {
        row.day.isoformat(): row
        for row in ResultDay.objects.filter(question=polled, day__lt=timezone.now().date())
    }
    assert [day["day"] for day in record["history"]] == sorted(stored)
    for day in record["history"]:
        row = stored[day["day"]]
        assert day["voters"] == row.voters
        assert {c["id"]: c["votes"] for c in day["choices"] if c["votes"]} == {
            int(choice): n for choice, n in row.votes.items()
        }

    rows = get_csv(client, polled)
    assert list(rows[0]) == list(open_data.CSV_COLUMNS)
    now_rows = [row for row in rows if row["period"] == "now"]
    assert {int(row["choice_id"]): int(row["votes"]) for row in now_rows} == {
        choice.pk: votes.get(choice.pk, 0) for choice in polled.choices.all()
    }
    assert {int(row["voters"]) for row in now_rows} == {voter_count}
    day_rows = [row for row in rows if row["period"] == "day"]
    assert len(day_rows) == 5 * 4
    for row in day_rows:
        stored_row = stored[row["day"]]
        assert int(row["voters"]) == stored_row.voters
        assert int(row["votes"]) == stored_row.votes.get(row["choice_id"], 0)
    # The same figures as the JSON, number for number.
    assert [float(row["percent"]) for row in now_rows] == [
        c["percent"] for c in record["results"]["choices"]
    ]


def test_the_question_page_links_its_data(client, polled):
    page = client.get(polled.get_absolute_url()).content.decode()
    assert f'href="/q/{polled.slug}.json" type="application/json"' in page
    assert f'href="/q/{polled.slug}.csv" type="text/csv"' in page
    assert 'href="/data/"' in page


def test_text_a_spreadsheet_would_run_as_a_formula_is_defused_in_the_csv_only(
    client, make_question
):
    question = make_question('=HYPERLINK("http://x")?', ("+1", "-1", "@me", "plain"))
    rows = get_csv(client, question)
    assert {row["title"] for row in rows} == {'\'=HYPERLINK("http://x")?'}
    assert sorted(row["choice"] for row in rows) == ["'+1", "'-1", "'@me", "plain"]
    record = get_json(client, question)["question"]
    assert record["title"] == question.title
    assert [choice["text"] for choice in record["choices"]] == ["+1", "-1", "@me", "plain"]


def test_a_multiple_choice_question_counts_shares_of_voters(client, make_question):
    question = make_question("Which fruits?", ("Apple", "Pear", "Plum"), max_choices=3)
    vote_spread(question, voters(10), [[0, 1]] * 6 + [[1]] * 4)
    voter_count, votes = rows_in_mariadb(question)
    record = get_json(client, question)["question"]
    assert record["results"]["voters"] == voter_count == 10
    assert {row["id"]: row["votes"] for row in record["results"]["choices"]} == {
        choice.pk: votes.get(choice.pk, 0) for choice in question.choices.all()
    }
    assert sum(row["percent"] for row in record["results"]["choices"]) == 160


def all_of(client: Client, question: Question) -> list[int]:
    return [
        client.get(f"/q/{question.slug}.json").status_code,
        client.get(f"/q/{question.slug}.csv").status_code,
    ]


@pytest.mark.parametrize("status", [Question.Status.HIDDEN, Question.Status.PENDING])
def test_a_question_that_is_not_public_is_gone_from_all(client, polled, local_media, status):
    assert all_of(client, polled) == [200, 200]
    polled.status = status
    polled.save()
    assert all_of(client, polled) == [404, 404]
    manifest = open_data.write_dump()
    dumped = read_dump(manifest)
    assert polled.slug not in json.dumps(dumped["json"], ensure_ascii=False)
    assert polled.slug not in dumped["csv"]
    assert manifest["questions"] == 0


@pytest.mark.parametrize(
    ("rule", "closed", "shown"),
    [
        (Question.Results.AFTER_CLOSE, False, False),
        (Question.Results.AFTER_VOTE, False, False),
        (Question.Results.AFTER_CLOSE, True, True),
        (Question.Results.AFTER_VOTE, True, True),
        (Question.Results.ALWAYS, False, True),
    ],
)
def test_results_the_rule_hides_are_withheld(client, polled, local_media, rule, closed, shown):
    polled.results_visibility = rule
    if closed:
        polled.closes_at = timezone.now() - timedelta(minutes=1)
    polled.save()
    record = get_json(client, polled)["question"]
    rows = get_csv(client, polled)
    dumped = read_dump(open_data.write_dump())
    (in_dump,) = dumped["json"]["questions"]
    dump_rows = list(csv.DictReader(io.StringIO(dumped["csv"])))
    assert in_dump == record and dump_rows == rows
    if shown:
        assert record["results"]["voters"] == 14 and len(record["history"]) == 5
        assert record["results_withheld"] is None
        return
    assert record["results"] is None and record["history"] == []
    assert record["results_withheld"]
    assert {row["period"] for row in rows} == {"withheld"}
    assert {row["votes"] + row["voters"] + row["percent"] for row in rows} == {""}
    assert [row["choice"] for row in rows] == ["Spring", "Summer", "Autumn", "Winter"]


def test_no_voter_identity_in_any_output(client, make_question, local_media):
    author = User.objects.create_user("author-zq", "author-zq@example.org", "pw")
    question = make_question("Cats or dogs?", ("Cats", "Dogs"), author=author)
    people = voters(12, prefix="person-xk")
    vote_spread(question, people, [[0]] * 5 + [[1]] * 7)
    with_days(question, 3)
    outputs = [
        client.get(f"/q/{question.slug}.json").content.decode(),
        client.get(f"/q/{question.slug}.csv").content.decode(),
    ]
    dumped = read_dump(open_data.write_dump())
    outputs += [json.dumps(dumped["json"], ensure_ascii=False), dumped["csv"]]
    # The other outputs for programs, too.
    question.closes_at = timezone.now() - timedelta(minutes=1)
    question.save()
    for url in ("/feeds/new/", "/feeds/closed/", "/sitemap-questions.xml"):
        response = client.get(url)
        assert response.status_code == 200 and question.slug in response.content.decode()
        outputs.append(response.content.decode())
    for text in outputs:
        assert "person-xk" not in text and "author-zq" not in text
        assert "example.org" not in text
    for key in keys_of(json.loads(outputs[0])) | keys_of(dumped["json"]):
        assert not {"user", "author", "username", "email", "voter_id", "ballot"} & {key}, key
    # The ids that are there are the question's and its choices', nothing else.
    record = json.loads(outputs[0])["question"]
    ids = {c["id"] for c in record["choices"]}
    assert ids == set(question.choices.values_list("pk", flat=True))


def keys_of(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_of(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_of(v) for v in value)) if value else set()
    return set()


def costs(client: Client, question: Question, settings) -> tuple[int, int]:
    empty_cache(settings)
    caches["fragments"].clear()
    with CaptureQueriesContext(connection) as cold:
        assert client.get(f"/q/{question.slug}.json").status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert client.get(f"/q/{question.slug}.json").status_code == 200
        assert client.get(f"/q/{question.slug}.csv").status_code == 200
    return len(cold), len(warm)


def test_query_count_is_constant_whatever_the_questions_votes_and_days(
    client, make_question, settings
):
    small = make_question("Small?", ("Yes", "No"))
    vote_spread(small, voters(1, prefix="s"), [[0]])
    with_days(small, 1)
    measured_small = costs(client, small, settings)
    for n in range(20):
        make_question(f"Another question {n}?", ("A", "B"))
    large = make_question("Large?", ("Yes", "No", "Maybe", "Later"))
    vote_spread(large, voters(40, prefix="l"), [[i % 4] for i in range(40)])
    with_days(large, 120)
    measured_large = costs(client, large, settings)
    assert measured_small == measured_large, (measured_small, measured_large)
    cold, warm = measured_large
    # Cold: what a cold question page reads (the question, its counts, history and insight), in
    # the same round trip; warm: nothing.
    assert cold <= COLD_QUERIES + HISTORY_QUERIES + INSIGHT_QUERIES and warm == 0


def test_dump_queries_do_not_grow_with_questions(make_question, local_media):
    def dump_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            open_data.write_dump()
        return len(queries)

    first = make_question("First?", ("A", "B"))
    vote_spread(first, voters(3, prefix="f"), [[0], [1], [0]])
    with_days(first, 2)
    few = dump_queries()
    for n in range(15):
        other = make_question(f"Question {n}?", ("A", "B", "C"), tags=(f"T{n % 3}",))
        with_days(other, 4)
    assert dump_queries() == few


# --- The dump in the media storage ---------------------------------------------------------


def read_dump(manifest: dict) -> dict:
    files = manifest["files"]
    with default_storage.open(files[open_data.JSON_NAME]["key"]) as handle:
        json_data = json.loads(gzip.decompress(handle.read()))
    with default_storage.open(files[open_data.CSV_NAME]["key"]) as handle:
        csv_text = gzip.decompress(handle.read()).decode()
    return {"json": json_data, "csv": csv_text}


def test_the_dump_equals_each_questions_own_data(client, polled, make_question, local_media):
    other = make_question("Tea or coffee?", ("Tea", "Coffee"), tags=("Drinks", "Morning"))
    vote_spread(other, voters(3, prefix="t"), [[0], [1], [1]])
    make_question("Not yet public?", ("A", "B"), status=Question.Status.DRAFT)
    call_command("dump_open_data", verbosity=0)
    manifest = open_data.latest_dump()
    assert manifest["questions"] == 2 and manifest["licence"] == "CC BY 4.0"
    dumped = read_dump(manifest)
    assert dumped["json"]["licence"] == "CC BY 4.0"
    by_slug = {record["slug"]: record for record in dumped["json"]["questions"]}
    assert set(by_slug) == {polled.slug, other.slug}
    rows = list(csv.DictReader(io.StringIO(dumped["csv"])))
    for question in (polled, other):
        assert by_slug[question.slug] == get_json(client, question)["question"]
        assert [r for r in rows if r["question"] == question.slug] == get_csv(client, question)
    page = client.get("/data/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "CC BY 4.0" in html and "03:30 UTC" in html
    for entry in manifest["files"].values():
        assert entry["url"] in html


def test_dumps_on_s3_are_gzip_files_under_new_keys_and_old_ones_go(
    s3_bucket, polled, client, settings
):
    stamps = [timezone.now() - timedelta(days=n) for n in range(open_data.KEEP_DUMPS + 2)]
    for moment in reversed(stamps):
        open_data.write_dump(now=moment)
    folders = {key.split("/")[1] for key in s3_bucket.keys() if key.startswith("open-data/")}
    assert len(folders) == open_data.KEEP_DUMPS
    assert min(folders) == f"{stamps[open_data.KEEP_DUMPS - 1].astimezone(UTC):%Y%m%dT%H%M%SZ}"
    empty_cache(settings)
    manifest = open_data.latest_dump()
    assert manifest["generated_at"].startswith(stamps[0].astimezone(UTC).strftime("%Y-%m-%dT"))
    for name in (open_data.JSON_NAME, open_data.CSV_NAME):
        head = s3_bucket.head(manifest["files"][name]["key"])
        # Downloaded as it is: a gzip file, not JSON with a transfer encoding.
        assert head["ContentType"] == "application/gzip"
        assert "ContentEncoding" not in head
        assert head["CacheControl"] == "public, max-age=31536000, immutable"
        assert head["ContentLength"] == manifest["files"][name]["bytes"]
    assert polled.slug in read_dump(manifest)["csv"]
    assert manifest["files"][open_data.CSV_NAME]["url"] in client.get("/data/").content.decode()


def test_the_data_page_stays_up_when_the_storage_fails(client, settings, db):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "beebeta.media_storage.MediaStorage",
            "OPTIONS": {
                "bucket_name": "nowhere",
                "endpoint_url": "http://127.0.0.1:9",
                "region_name": "us-east-1",
                "addressing_style": "path",
                "access_key": "x",
                "secret_key": "x",
                "client_config": Config(connect_timeout=1, retries={"total_max_attempts": 1}),
            },
        },
    }
    response = client.get("/data/")
    assert response.status_code == 200
    assert "No file is available right now" in response.content.decode()
