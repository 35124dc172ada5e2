"""Beebeta's results as open data: one question as JSON or CSV, and the nightly dump of all.

A question's record holds what its page shows, computed by the same code: the choices, and
(when the question's visibility rule lets everyone see its results) the live counts with their
shares, 95% Wilson intervals and headline (polls/results.py), and the completed days of its
history (polls/history.py). Results a visitor who has not voted may not see are withheld from
the data too, history included. No record names a person: no author, no voter, no account id.

The page's record is built from the same memcached round trip as the question page
(reads.question_page), so it costs no SQL when warm and a constant number of queries when cold.
The dump (``manage.py dump_open_data``) reads every public question in batches of ``BATCH``,
each batch in a constant number of queries, and writes gzip JSON and CSV files under a new
folder of the media storage per run (``open-data/<UTC time>/``): a written key never changes,
so the CDN may cache it for ever. A manifest, written last, marks a folder as complete.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from django.core.cache import cache, caches
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.db.models import Prefetch
from django.utils import timezone

from polls import cache_keys, history, reads
from polls.history import DayResult
from polls.models import Choice, Question
from polls.results import Share, results

logger = logging.getLogger(__name__)

LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = "Beebeta"
FOLDER = "open-data"
JSON_NAME = "beebeta-questions.json.gz"
CSV_NAME = "beebeta-questions.csv.gz"
MANIFEST_NAME = "manifest.json"
# Questions read per batch by the dump (each batch: a constant number of queries).
BATCH = 500
# Dumps kept in the storage; older folders are removed by the run that writes a new one.
KEEP_DUMPS = 7
# How long the /data/ page reuses what it read of the storage about the latest dump; a finding of
# none (or a storage that failed) is read again sooner. The dump drops it when it is written, but
# a local run's processes each keep their own cache.
LATEST_DUMP_SECONDS = 600
NO_DUMP_SECONDS = 60

WITHHELD: dict[str, str] = {
    Question.Results.AFTER_VOTE: "Results are shown to people who voted until the question closes.",
    Question.Results.AFTER_CLOSE: "Results are shown once the question closes.",
}

CSV_COLUMNS = (
    "question",
    "title",
    "status",
    "published_at",
    "closes_at",
    "period",
    "day",
    "reconstructed",
    "choice_id",
    "choice",
    "votes",
    "voters",
    "percent",
    "interval_low",
    "interval_high",
)


def _moment(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _share(share: Share) -> dict[str, Any]:
    return {
        "votes": share.votes,
        "percent": round(share.percent, 2),
        "interval_low": round(share.low, 2),
        "interval_high": round(share.high, 2),
    }


def record(
    question: Question,
    choices: Sequence[Choice],
    *,
    votes: Mapping[int, int],
    voters: int,
    days: Sequence[DayResult],
    now: datetime,
) -> dict[str, Any]:
    """One question as open data: a plain dict, the same for the page's JSON, its CSV and the
    dump. ``votes`` (per choice id) and ``voters`` are the live counts; ``days`` its history."""
    closed = question.is_closed(now)
    data: dict[str, Any] = {
        "slug": question.slug,
        "path": question.get_absolute_url(),
        "title": question.title,
        "description": question.description,
        "status": "closed" if closed else "open",
        "published_at": _moment(question.published_at),
        "closes_at": _moment(question.closes_at),
        "max_choices": question.max_choices,
        "results_visibility": question.results_visibility,
        "tags": [{"slug": tag.slug, "name": tag.name} for tag in question.tags.all()],
        "choices": [
            {"id": choice.pk, "position": choice.position, "text": choice.text}
            for choice in choices
        ],
        "results": None,
        "results_withheld": None,
        "history": [],
    }
    if not question.results_visible_to(has_voted=False, now=now):
        data["results_withheld"] = WITHHELD.get(question.results_visibility, "Withheld.")
        return data
    now_result = results(choices, votes, voters, closed=closed, multiple=question.allows_multiple)
    data["results"] = {
        "voters": voters,
        "headline": now_result.headline.lead,
        "headline_figures": now_result.headline.figures,
        "choices": [
            {
                "id": row.choice.pk,
                "text": row.choice.text,
                "leader": row.leader,
                **_share(row.share),
            }
            for row in now_result.rows
        ],
    }
    data["history"] = [
        {
            "day": day.day.isoformat(),
            "voters": day.voters,
            "reconstructed": day.reconstructed,
            "counted_at": _moment(day.counted_at),
            "choices": [
                {"id": choice.pk, **_share(Share.of(day.votes_for(choice.pk), day.voters))}
                for choice in choices
            ],
        }
        for day in days
    ]
    return data


# A spreadsheet opening the CSV runs a cell that starts with one of these as a formula: text
# written by people (titles, choices) that does gets an apostrophe in front, which spreadsheets
# hide and programs can strip. The JSON keeps the text as it is.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_rows(data: Mapping[str, Any]) -> Iterator[list[Any]]:
    """The record as CSV rows (CSV_COLUMNS): one per choice for the live results ("now"), one per
    choice and day of the history ("day"), or one per choice without figures ("withheld")."""
    head = [
        data["slug"],
        _text_cell(data["title"]),
        data["status"],
        data["published_at"] or "",
        data["closes_at"] or "",
    ]
    texts = {choice["id"]: _text_cell(choice["text"]) for choice in data["choices"]}
    if data["results"] is None:
        for choice in data["choices"]:
            yield [*head, "withheld", "", "", choice["id"], texts[choice["id"]], "", "", "", "", ""]
        return
    voters = data["results"]["voters"]
    for row in data["results"]["choices"]:
        yield [*head, "now", "", "", row["id"], texts[row["id"]], *_figures(row, voters)]
    for day in data["history"]:
        for row in day["choices"]:
            when = [day["day"], "true" if day["reconstructed"] else "false"]
            yield [*head, "day", *when, row["id"], texts[row["id"]], *_figures(row, day["voters"])]


def _figures(row: Mapping[str, Any], voters: int) -> list[Any]:
    return [row["votes"], voters, row["percent"], row["interval_low"], row["interval_high"]]


def write_csv(out: IO[str], records: Iterable[Mapping[str, Any]]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for data in records:
        writer.writerows(csv_rows(data))


# --- One question, for its page's .json and .csv ---------------------------------------------


def question_record(slug: str, *, now: datetime | None = None) -> dict[str, Any] | None:
    """The record of the public question at ``slug``, or None when it is not public.

    Read through the question page's cache; the record itself is kept in the worker's fragments
    cache under the stamps of what it was built from, so it is exactly as fresh as the page.
    """
    page = reads.question_page(slug)
    if page is None or page.counts is None:
        return None
    now = now or timezone.now()
    question = page.question
    visible = question.results_visible_to(has_voted=False, now=now)
    past = page.history
    key = cache_keys.fragment(
        "open-data",
        page.stamp,
        page.counts.stamp,
        past.stamp if past else None,
        question.is_closed(now),
        visible,
    )
    found = caches["fragments"].get(key)
    if found is None:
        found = record(
            question,
            page.choices,
            votes=page.counts.by_choice,
            voters=page.counts.voters,
            days=past.days if past else (),
            now=now,
        )
        caches["fragments"].set(key, found, reads.QUESTION_CACHE_SECONDS)
    return found


def question_csv(data: Mapping[str, Any]) -> str:
    out = io.StringIO()
    write_csv(out, [data])
    return out.getvalue()


# --- Every public question: the dump --------------------------------------------------------


def all_records(*, now: datetime | None = None, batch: int = BATCH) -> Iterator[dict[str, Any]]:
    """The record of every public question, oldest first: per batch, the questions with their
    choices and tags (three queries), their counts (two) and their history (two)."""
    now = now or timezone.now()
    ids = list(Question.objects.public().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        questions = (
            Question.objects.public()
            .filter(pk__in=chunk)
            .order_by("pk")
            .prefetch_related("tags", Prefetch("choices", queryset=Choice.objects.all()))
        )
        figures = history.read_figures(chunk)
        days = history.build_histories(chunk, now=now)
        for question in questions:
            voters, votes = figures.get(question.pk, (0, {}))
            yield record(
                question,
                list(question.choices.all()),
                votes={int(choice): n for choice, n in votes.items()},
                voters=voters,
                days=days.get(question.pk, ()),
                now=now,
            )


def write_dump(*, now: datetime | None = None, storage: Storage | None = None) -> dict[str, Any]:
    """Write the JSON and CSV dumps of every public question to a new folder of the media
    storage, then its manifest; remove dumps beyond the newest KEEP_DUMPS. Returns the manifest."""
    storage = storage or default_storage
    now = now or timezone.now()
    folder = f"{FOLDER}/{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    with (
        tempfile.TemporaryFile() as json_file,
        tempfile.TemporaryFile() as csv_file,
    ):
        count = _write_files(json_file, csv_file, now=now)
        files = {}
        for name, handle in ((JSON_NAME, json_file), (CSV_NAME, csv_file)):
            size = handle.tell()
            handle.seek(0)
            saved = storage.save(f"{folder}/{name}", File(handle, name=name))
            files[name] = {"key": saved, "bytes": size}
    manifest = {
        "generated_at": _moment(now),
        "questions": count,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "files": files,
    }
    body = json.dumps(manifest, indent=2).encode()
    storage.save(f"{folder}/{MANIFEST_NAME}", File(io.BytesIO(body), name=MANIFEST_NAME))
    _remove_old_dumps(storage)
    cache.delete(cache_keys.LATEST_DUMP)
    return manifest


def _write_files(json_file: IO[bytes], csv_file: IO[bytes], *, now: datetime) -> int:
    """Stream every record into the two gzip files; returns how many questions were written."""
    count = 0
    # mtime=0: the same data gives the same bytes.
    with (
        gzip.GzipFile(fileobj=json_file, mode="wb", mtime=0) as json_zip,
        gzip.GzipFile(fileobj=csv_file, mode="wb", mtime=0) as csv_zip,
    ):
        json_out = io.TextIOWrapper(json_zip, encoding="utf-8")
        csv_out = io.TextIOWrapper(csv_zip, encoding="utf-8", newline="")
        head = {"generated_at": _moment(now), "licence": LICENCE, "licence_url": LICENCE_URL}
        # One question per line inside the list, written as they are read.
        json_out.write(json.dumps(head)[:-1] + ', "questions": [\n')
        writer = csv.writer(csv_out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for data in all_records(now=now):
            if count:
                json_out.write(",\n")
            json_out.write(json.dumps(data, ensure_ascii=False))
            writer.writerows(csv_rows(data))
            count += 1
        json_out.write("\n]}\n")
        # Closing a wrapper would close the gzip stream under it before its trailer is written.
        json_out.flush()
        csv_out.flush()
        json_out.detach()
        csv_out.detach()
    return count


def _dump_folders(storage: Storage) -> list[str]:
    try:
        folders, _ = storage.listdir(FOLDER)
    except FileNotFoundError:  # the local disk before the first dump
        return []
    return sorted(folders)


def _remove_old_dumps(storage: Storage) -> None:
    folders = _dump_folders(storage)
    for folder in folders[:-KEEP_DUMPS]:
        _, names = storage.listdir(f"{FOLDER}/{folder}")
        for name in names:
            storage.delete(f"{FOLDER}/{folder}/{name}")


def latest_dump(storage: Storage | None = None) -> dict[str, Any] | None:
    """The newest complete dump's manifest with the files' URLs, or None when there is none or
    the storage cannot be read (cached LATEST_DUMP_SECONDS, or NO_DUMP_SECONDS for None)."""
    found = cache.get(cache_keys.LATEST_DUMP)
    if found is not None:
        return found or None
    storage = storage or default_storage
    try:
        found = _read_latest(storage)
    except Exception:  # noqa: BLE001  (a storage that fails costs the links, never the page)
        logger.warning("open data: the dumps could not be listed", exc_info=True)
        found = {}
    cache.set(cache_keys.LATEST_DUMP, found, LATEST_DUMP_SECONDS if found else NO_DUMP_SECONDS)
    return found or None


def _read_latest(storage: Storage) -> dict[str, Any]:
    for folder in reversed(_dump_folders(storage)):
        name = f"{FOLDER}/{folder}/{MANIFEST_NAME}"
        if not storage.exists(name):
            continue  # a run that did not finish
        with storage.open(name) as handle:
            manifest = json.loads(handle.read())
        for entry in manifest["files"].values():
            entry["url"] = storage.url(entry["key"])
        return manifest
    return {}
