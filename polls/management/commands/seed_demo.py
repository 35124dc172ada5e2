"""Demo tags, users, questions and votes for a local run and for tests.

The questions themselves are data, in seed_demo.toml beside this file.

Everything is keyed by a natural key (tag slug, username, question title), so
a second run only adds what is missing. A question that already exists is
skipped with its votes: voting on it again would change figures that someone
may already be looking at.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from beebeta.env import env_secret
from polls import covoting, history, integrity, rankings, services
from polls.models import Choice, Question, Tag, Vote

# The accounts people log in with, and whether each is staff (a superuser).
LOGIN_USERS = {"demo": False, "staff": True}

Status = Question.Status
Results = Question.Results


@dataclass(frozen=True)
class DemoQuestion:
    title: str
    description: str
    tags: tuple[str, ...]
    choices: tuple[str, ...]
    age_days: float  # how long ago it was written
    voters: int  # how many of demo01..demo60 vote on it
    recent: float = 0.0  # share of those votes cast in the last 24 hours
    max_choices: int = 1
    closes_in_days: float | None = None  # negative: voting has already ended
    results: str = Results.ALWAYS
    # Pending questions are never published; hidden ones are published, voted
    # on and then hidden, as a moderator would after reports.
    status: str = Status.PUBLISHED
    # Over how many days before now the votes are spread (VOTE_WINDOW's days unless given).
    vote_days: float | None = None
    # Voters come from the whole crowd (CROWD_NAMES), each only after joining.
    crowd: bool = False
    # The crowd's preferences move from one set of weights to another over the votes.
    drift: bool = False
    # The title of an earlier crowd question: a voter who chose its choice at some position is
    # LEAN times as drawn to this question's choice at that position (co-voting to find).
    leans_on: str = ""
    # This many accounts made minutes before they vote, all within ten minutes,
    # ``storm_hours_ago`` hours ago, for this question's first choice (a push to flag).
    storm: int = 0
    storm_hours_ago: float = 3.0


TAGS = (
    ("food", "Food"),
    ("travel", "Travel"),
    ("technology", "Technology"),
    ("politics", "Politics"),
    ("sports", "Sports"),
    ("music", "Music"),
    ("movies", "Movies"),
    ("science", "Science"),
    ("work", "Work"),
    ("city-life", "City life"),
    ("books", "Books"),
    ("health", "Health"),
)

VOTER_NAMES = tuple(f"demo{n:02d}" for n in range(1, 61))
# A larger crowd for the questions with weeks of history; a third of it joined in the last weeks.
CROWD_NAMES = tuple(f"demo{n:03d}" for n in range(1, 241))
AUTHOR_NAMES = (*VOTER_NAMES[:10], "demo")

QUESTIONS_FILE = Path(__file__).with_name("seed_demo.toml")


def load_questions() -> tuple[DemoQuestion, ...]:
    """The demo questions, kept as data beside this command."""
    with QUESTIONS_FILE.open("rb") as source:
        entries = tomllib.load(source)["question"]
    return tuple(DemoQuestion(**_lists_as_tuples(entry)) for entry in entries)


def _lists_as_tuples(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in entry.items()}


QUESTIONS = load_questions()

# Votes are spread over the last ten days; older questions simply got their
# earlier votes before the demo begins.
VOTE_WINDOW = timedelta(days=10)
LEAN = 4.0
STORM_MINUTES = 10


class Command(BaseCommand):
    help = "Create demo tags, users, questions and votes; existing ones are left alone."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        rng = random.Random(2026)  # noqa: S311  (repeatable demo data, not security)
        tags = seed_tags()
        users = seed_users()
        voters = [users[name] for name in VOTER_NAMES]
        crowd = seed_crowd(now)
        titles = [spec.title for spec in QUESTIONS]
        existing = set(Question.objects.filter(title__in=titles).values_list("title", flat=True))
        created = 0
        for index, spec in enumerate(QUESTIONS):
            if spec.title in existing:
                continue
            author = users[AUTHOR_NAMES[index % len(AUTHOR_NAMES)]]
            # One transaction per question, so an interrupted run never leaves
            # a question without its votes for the next run to skip.
            with transaction.atomic():
                question = create_question(spec, author=author, tags=tags, now=now, rng=rng)
                if spec.crowd:
                    cast_crowd_votes(spec, question=question, crowd=crowd, now=now, rng=rng)
                else:
                    cast_votes(spec, question=question, voters=voters, now=now, rng=rng)
                if spec.storm:
                    cast_storm(spec, question=question, now=now)
                if spec.status == Status.HIDDEN:
                    services.set_status(questions=[question], status=spec.status)
            created += 1
        # Every demo question, not only those with votes in the last week: a
        # question voted on only before that would otherwise keep the count
        # of its first vote (later refreshes on the vote path are throttled).
        demo_ids = Question.objects.filter(title__in=titles).values_list("pk", flat=True)
        rankings.refresh(question_ids=list(demo_ids))
        # The history: the demo's votes carry their moments, so the days before today are
        # reconstructed from them (and marked so on the pages); today's are counted.
        history.take_snapshot()
        # What the refresh_insights timer does: the integrity panels (the storm's flags) and the
        # co-voting of the crowd's questions, released at once.
        integrity.refresh()
        covoting.refresh()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"seed_demo: {len(titles)} questions ({created} new), {len(tags)} tags, "
                f"{len(users) + len(crowd)} users"
            )


def seed_tags() -> dict[str, Tag]:
    tags = {}
    for slug, name in TAGS:
        tags[slug], _ = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
    return tags


def seed_users() -> dict[str, User]:
    users = {}
    now = timezone.now()
    for number, name in enumerate(VOTER_NAMES):
        users[name], _ = User.objects.get_or_create(
            username=name,
            # make_password(None) is an unusable password: nobody logs in as these.
            defaults={
                "email": f"{name}@beebeta.example",
                "password": make_password(None),
                # Two thirds joined long ago, so insights show established members too.
                "date_joined": now - timedelta(days=400 if number % 3 else 10 + number % 20),
            },
        )
    password = demo_password()
    for username, staff in LOGIN_USERS.items():
        users[username] = login_user(username, password=password, staff=staff)
    return users


def seed_crowd(now: datetime) -> list[User]:
    """The crowd's accounts, created in one statement the first time."""
    missing = set(CROWD_NAMES) - set(
        User.objects.filter(username__in=CROWD_NAMES).values_list("username", flat=True)
    )
    create_accounts(
        {
            # Every third joined during the last six weeks: a new account when it votes.
            name: now - timedelta(days=400 if number % 3 else 3 + number % 40)
            for number, name in enumerate(CROWD_NAMES)
            if name in missing
        }
    )
    return list(User.objects.filter(username__in=CROWD_NAMES).order_by("username"))


def create_accounts(joined: dict[str, datetime]) -> None:
    """Accounts nobody logs in as (an unusable password), by name with when each joined, in
    one statement."""
    unusable = make_password(None)
    User.objects.bulk_create(
        User(username=name, email=f"{name}@beebeta.example", password=unusable, date_joined=at)
        for name, at in joined.items()
    )


def demo_password() -> str:
    return env_secret("DEMO_PASSWORD", "beebeta-demo")


def login_user(username: str, *, password: str, staff: bool) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "email": f"{username}@beebeta.example",
            "is_staff": staff,
            "is_superuser": staff,
        },
    )
    # Only on creation: a password someone changed since is theirs to keep.
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def create_question(
    spec: DemoQuestion, *, author: User, tags: dict[str, Tag], now: datetime, rng: random.Random
) -> Question:
    created_at = now - timedelta(days=spec.age_days)
    pending = spec.status == Status.PENDING
    question = Question(
        title=spec.title,
        description=spec.description,
        author=author,
        # Hidden questions are voted on first, so they start out published.
        status=Status.PENDING if pending else Status.PUBLISHED,
        max_choices=spec.max_choices,
        results_visibility=spec.results,
        created_at=created_at,
        published_at=None if pending else created_at + timedelta(minutes=rng.randint(5, 180)),
        held_for_review_at=created_at if pending else None,
    )
    if spec.closes_in_days is not None:
        question.closes_at = now + timedelta(days=spec.closes_in_days)
    question.save()
    for position, text in enumerate(spec.choices):
        Choice.objects.create(question=question, text=text, position=position)
    question.tags.set([tags[slug] for slug in spec.tags])
    return question


def cast_votes(
    spec: DemoQuestion,
    *,
    question: Question,
    voters: Sequence[User],
    now: datetime,
    rng: random.Random,
) -> None:
    if not spec.voters:
        return
    choice_ids = list(question.choices.values_list("pk", flat=True))
    # Squaring spreads the weights, so most questions have a clear favourite.
    weights = [rng.random() ** 2 + 0.05 for _ in choice_ids]
    times = vote_times(spec, question=question, now=now, rng=rng)
    for user, moment in zip(rng.sample(list(voters), spec.voters), times, strict=True):
        picked = pick_choices(choice_ids, weights, limit=spec.max_choices, rng=rng)
        services.cast_vote(user=user, question=question, choice_ids=picked, now=moment)


def cast_crowd_votes(
    spec: DemoQuestion,
    *,
    question: Question,
    crowd: Sequence[User],
    now: datetime,
    rng: random.Random,
) -> None:
    """Votes spread evenly over ``vote_days``, each by someone of the crowd who had joined by
    then, with preferences drifting from one set of weights to another."""
    choice_ids = list(question.choices.values_list("pk", flat=True))
    before = [rng.random() ** 2 + 0.05 for _ in choice_ids]
    after = [rng.random() ** 2 + 0.05 for _ in choice_ids] if spec.drift else before
    start = max(_published_at(question), now - timedelta(days=spec.vote_days or 10))
    waiting = list(crowd)
    rng.shuffle(waiting)
    leaning = _positions_chosen(spec.leans_on) if spec.leans_on else {}
    for n in range(spec.voters):
        moment = start + (now - start) * (n + rng.random()) / spec.voters
        voter = next((user for user in waiting if user.date_joined <= moment), None)
        if voter is None:
            continue
        waiting.remove(voter)
        progress = n / max(spec.voters - 1, 1)
        weights = [a + (b - a) * progress for a, b in zip(before, after, strict=True)]
        for position in leaning.get(voter.pk, ()):
            if position < len(weights):
                weights[position] *= LEAN
        picked = pick_choices(choice_ids, weights, limit=spec.max_choices, rng=rng)
        services.cast_vote(user=voter, question=question, choice_ids=picked, now=moment)


def _positions_chosen(title: str) -> dict[int, list[int]]:
    """The positions of the choices each voter (by user id) chose on the question ``title``."""
    chosen: dict[int, list[int]] = {}
    for user_id, position in Vote.objects.filter(question__title=title).values_list(
        "ballot__user_id", "choice__position"
    ):
        chosen.setdefault(user_id, []).append(position)
    return chosen


def cast_storm(spec: DemoQuestion, *, question: Question, now: datetime) -> None:
    """``spec.storm`` brand-new accounts voting for the first choice within ten minutes."""
    start = now - timedelta(hours=spec.storm_hours_ago)
    first = question.choices.order_by("position").values_list("pk", flat=True)[0]
    names = [f"push-{question.pk}-{n:03d}" for n in range(spec.storm)]
    create_accounts({name: start - timedelta(minutes=5) for name in names})
    for n, user in enumerate(User.objects.filter(username__in=names).order_by("username")):
        moment = start + timedelta(minutes=STORM_MINUTES) * n / spec.storm
        services.cast_vote(user=user, question=question, choice_ids=[first], now=moment)


def _published_at(question: Question) -> datetime:
    """When a question that takes demo votes was published (pending ones take none)."""
    if question.published_at is None:
        raise ValueError(f"{question.title!r} is not published: it cannot take votes.")
    return question.published_at


def vote_times(
    spec: DemoQuestion, *, question: Question, now: datetime, rng: random.Random
) -> list[datetime]:
    """When each vote is cast: after publication, before closing, ``recent`` in the last day."""
    start = max(_published_at(question), now - VOTE_WINDOW)
    end = now
    if question.closes_at is not None and question.closes_at < now:
        # cast_vote refuses a vote whose moment is at or after closes_at.
        end = question.closes_at - timedelta(minutes=1)
    recent_start = max(start, now - timedelta(days=1))
    older_end = min(end, recent_start)
    times = []
    for _ in range(spec.voters):
        recent = recent_start < end and (older_end <= start or rng.random() < spec.recent)
        low, high = (recent_start, end) if recent else (start, older_end)
        times.append(low + (high - low) * rng.random())
    return sorted(times)


def pick_choices(
    choice_ids: list[int], weights: list[float], *, limit: int, rng: random.Random
) -> list[int]:
    """One choice, or for a multiple-choice question between one and ``limit`` of them."""
    pool = list(zip(choice_ids, weights, strict=True))
    picked = []
    for _ in range(rng.randint(1, limit)):
        index = rng.choices(range(len(pool)), weights=[weight for _, weight in pool])[0]
        picked.append(pool.pop(index)[0])
    return picked
