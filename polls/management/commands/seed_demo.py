"""Demo tags, users, questions and votes for a local run and for tests.

Everything is keyed by a natural key (tag slug, username, question title), so
a second run only adds what is missing. A question that already exists is
skipped with its votes: voting on it again would change figures that someone
may already be looking at.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from beebeta.env import env_secret
from polls import rankings, services
from polls.models import Choice, Question, Tag

User = get_user_model()

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
AUTHOR_NAMES = (*VOTER_NAMES[:10], "demo")

QUESTIONS = (
    DemoQuestion(
        title="Which restaurant serves the best ramen?",
        description="Settle it once and for all: the bowl you would queue for in the rain.",
        tags=("food", "city-life"),
        choices=(
            "Menya Kotetsu",
            "Ramen Hoshi",
            "Tonkotsu Tei",
            "Nishiki Noodle Bar",
            "Shio & Smoke",
            "Daikoku Ramen House",
        ),
        age_days=9,
        voters=58,
        recent=0.3,
    ),
    DemoQuestion(
        title="Should voting be compulsory?",
        description=(
            "Some countries fine citizens who skip elections and see turnout above 90%. "
            "Would that make democracy stronger or just noisier?"
        ),
        tags=("politics",),
        choices=(
            "Yes, with a small fine for not voting",
            "Yes, but with a 'none of the above' option",
            "No, voting should stay voluntary",
            "Not sure",
        ),
        age_days=27,
        voters=54,
        recent=0.05,
        results=Results.AFTER_VOTE,
    ),
    DemoQuestion(
        title="Which programming languages do you enjoy? (pick up to 3)",
        description="Not the ones you use because you have to: the ones you would pick for fun.",
        tags=("technology", "work"),
        choices=("Python", "JavaScript", "TypeScript", "Go", "Rust", "Java", "C#", "Kotlin"),
        age_days=20,
        voters=47,
        recent=0.1,
        max_choices=3,
    ),
    DemoQuestion(
        title="Which cuisines would you happily eat every week? (pick up to 3)",
        description="Comfort food counts. Pick the kitchens you never get tired of.",
        tags=("food",),
        choices=("Italian", "Japanese", "Mexican", "Indian", "Thai", "Lebanese", "Ethiopian"),
        age_days=14,
        voters=22,
        max_choices=3,
    ),
    DemoQuestion(
        title="Which streaming services do you pay for? (pick up to 3)",
        description="Subscriptions add up. Which ones survive your monthly budget review?",
        tags=("movies", "technology"),
        choices=(
            "Netflix",
            "Disney+",
            "Prime Video",
            "Max",
            "Apple TV+",
            "Mubi",
            "None of them",
        ),
        age_days=12,
        voters=31,
        max_choices=3,
    ),
    DemoQuestion(
        title="What do you value most in a job? (pick up to 2)",
        description="If two offers paid roughly the same, what would make you choose one?",
        tags=("work",),
        choices=(
            "Salary",
            "Flexible hours",
            "Remote work",
            "Interesting problems",
            "Good colleagues",
            "Learning opportunities",
        ),
        age_days=18,
        voters=26,
        max_choices=2,
    ),
    DemoQuestion(
        title="Which sports do you watch regularly? (pick up to 3)",
        description="Live, on TV or as highlights the next morning: all of it counts.",
        tags=("sports",),
        choices=(
            "Football",
            "Basketball",
            "Tennis",
            "Cycling",
            "Formula 1",
            "Cricket",
            "Athletics",
            "None",
        ),
        age_days=6,
        voters=15,
        max_choices=3,
    ),
    DemoQuestion(
        title="What is the best way to spend a long weekend?",
        description="Three days, no work, a modest budget. Where do you go?",
        tags=("travel",),
        choices=(
            "A city break",
            "Hiking in the mountains",
            "A beach somewhere warm",
            "Staying home",
            "Visiting family",
        ),
        age_days=25,
        voters=12,
    ),
    DemoQuestion(
        title="Window seat or aisle seat?",
        description="The oldest argument in air travel. Choose your side.",
        tags=("travel",),
        choices=("Window", "Aisle", "Middle, I like company", "I don't mind"),
        age_days=29,
        voters=38,
    ),
    DemoQuestion(
        title="Should cities ban cars from their historic centres?",
        description=(
            "Several European cities have closed their old towns to private cars. "
            "Shops worried; pedestrians cheered. Should yours follow?"
        ),
        tags=("city-life", "politics"),
        choices=(
            "Yes, completely",
            "Yes, except for residents and deliveries",
            "Only at weekends",
            "No",
        ),
        age_days=3,
        voters=44,
        recent=0.7,
    ),
    DemoQuestion(
        title="How do you commute most days?",
        description="Count the mode you use for the longest part of the trip.",
        tags=("city-life", "work"),
        choices=(
            "On foot",
            "Bike",
            "Bus or tram",
            "Train or metro",
            "Car",
            "I work from home",
        ),
        age_days=16,
        voters=19,
    ),
    DemoQuestion(
        title="Tabs or spaces?",
        description="For indenting code. Yes, people still care.",
        tags=("technology",),
        choices=("Tabs", "Spaces", "Whatever the formatter decides"),
        age_days=22,
        voters=51,
    ),
    DemoQuestion(
        title="Is AI-generated music real music?",
        description=(
            "Tools can now write and sing a whole song from a sentence of text. "
            "Is that music, or something else?"
        ),
        tags=("music", "technology"),
        choices=(
            "Yes",
            "Only when a person shapes the result",
            "No",
            "I haven't heard enough to say",
        ),
        age_days=2,
        voters=28,
        recent=0.8,
    ),
    DemoQuestion(
        title="Vinyl, CD or streaming?",
        description="How do you listen to an album you really love?",
        tags=("music",),
        choices=("Vinyl", "CD", "Streaming", "Cassette, really", "The radio"),
        age_days=11,
        voters=9,
    ),
    DemoQuestion(
        title="Which decade had the best pop music?",
        description="Judge by the songs you still know by heart, not by the haircuts.",
        tags=("music",),
        choices=("1960s", "1970s", "1980s", "1990s", "2000s", "2010s", "2020s"),
        age_days=24,
        voters=33,
        closes_in_days=-4,
    ),
    DemoQuestion(
        title="Should cinemas ban phones during the film?",
        description="One bright screen in a dark room is enough to annoy a whole row.",
        tags=("movies",),
        choices=(
            "Yes, lock them in pouches",
            "Yes, staff should ask people to stop",
            "Silent mode is enough",
            "No",
        ),
        age_days=8,
        voters=6,
    ),
    DemoQuestion(
        title="Subtitles or dubbing for foreign films?",
        description="Original voices and reading, or your own language and watching?",
        tags=("movies",),
        choices=("Subtitles", "Dubbing", "It depends on the film"),
        age_days=13,
        voters=17,
    ),
    DemoQuestion(
        title="Should sending people to Mars be a priority?",
        description="Crewed missions cost tens of billions. Is it worth it this decade?",
        tags=("science",),
        choices=(
            "Yes, within this decade",
            "Yes, but robots first",
            "No, fix Earth first",
            "Not sure",
        ),
        age_days=19,
        voters=24,
    ),
    DemoQuestion(
        title="Should nuclear power be part of the energy mix?",
        description=(
            "Nuclear plants emit little carbon but are slow and costly to build. "
            "Where do you stand?"
        ),
        tags=("science", "politics"),
        choices=(
            "Yes, build more plants",
            "Keep the existing plants, build no new ones",
            "Phase it out",
            "Not sure",
        ),
        age_days=15,
        voters=36,
        results=Results.AFTER_VOTE,
    ),
    DemoQuestion(
        title="How many hours do you sleep on a work night?",
        description="Be honest; nobody is checking your sleep tracker.",
        tags=("health",),
        choices=("Less than 6", "6 to 7", "7 to 8", "More than 8"),
        age_days=1,
        voters=3,
    ),
    DemoQuestion(
        title="What is your main way to exercise?",
        description="The one you actually do most weeks, not the one you intend to start.",
        tags=("health", "sports"),
        choices=(
            "Running",
            "Gym",
            "Cycling",
            "Swimming",
            "Yoga",
            "Team sports",
            "Walking",
            "I don't exercise",
        ),
        age_days=10,
        voters=13,
    ),
    DemoQuestion(
        title="Paper books or e-readers?",
        description="For reading novels at home and on the go.",
        tags=("books",),
        choices=("Paper", "E-reader", "Audiobooks", "A mix of everything"),
        age_days=21,
        voters=20,
    ),
    DemoQuestion(
        title="Which book should the book club read next?",
        description="The club meets in a month. Vote for the one you would finish in time.",
        tags=("books",),
        choices=(
            "Middlemarch",
            "One Hundred Years of Solitude",
            "The Left Hand of Darkness",
            "Beloved",
            "The Remains of the Day",
        ),
        age_days=28,
        voters=11,
        closes_in_days=-2,
    ),
    DemoQuestion(
        title="Should schools start later in the morning?",
        description="Sleep researchers say teenagers learn better when school starts later.",
        tags=("health", "politics"),
        choices=("Yes, at 9:00 or later", "A little later, around 8:30", "No, keep it as it is"),
        age_days=0.5,
        voters=2,
    ),
    DemoQuestion(
        title="Would you take a four-day week for 10% less pay?",
        description="Same job, one more free day each week, a smaller salary.",
        tags=("work",),
        choices=(
            "Yes, immediately",
            "Yes, if the workload shrinks too",
            "No",
            "I already work four days",
        ),
        age_days=5,
        voters=40,
        recent=0.4,
    ),
    DemoQuestion(
        title="Does pineapple belong on pizza?",
        description="The question that has ended friendships.",
        tags=("food",),
        choices=("Yes", "No", "Only with ham", "I have never tried it"),
        age_days=17,
        voters=8,
        status=Status.HIDDEN,
    ),
    DemoQuestion(
        title="Should the football World Cup be held every two years?",
        description="More tournaments mean more football and more money, but tired players.",
        tags=("sports",),
        choices=("Yes", "No, keep it every four years", "Every three years as a compromise"),
        age_days=7,
        voters=14,
        closes_in_days=2,
    ),
    DemoQuestion(
        title="Which city has the best public transport?",
        description="Think frequency, coverage, cleanliness and how easy it is for a visitor.",
        tags=("city-life", "travel"),
        choices=("Tokyo", "Zurich", "Singapore", "Vienna", "Seoul", "Hong Kong", "London"),
        age_days=23,
        voters=27,
    ),
    DemoQuestion(
        title="Should tourist taxes be higher in crowded cities?",
        description="Overtourism strains housing and services. Should visitors pay more for it?",
        tags=("travel", "politics", "city-life"),
        choices=("Yes", "Only in peak season", "No"),
        age_days=4,
        voters=7,
        closes_in_days=5,
    ),
    DemoQuestion(
        title="Do you read the terms and conditions?",
        description="Before clicking 'I agree' on an app or a website.",
        tags=("technology",),
        choices=("Always", "I skim them", "Never", "Only for big purchases"),
        age_days=26,
        voters=1,
    ),
    DemoQuestion(
        title="Coffee or tea to start the day?",
        description="The first drink of the morning, before anything else.",
        tags=("food", "health"),
        choices=("Coffee", "Tea", "Both", "Neither"),
        age_days=30,
        voters=35,
    ),
    DemoQuestion(
        title="Is a hot dog a sandwich?",
        description="Bread, filling, eaten by hand. Or is it its own thing?",
        tags=("food",),
        choices=("Yes", "No", "It is its own category"),
        age_days=0.3,
        voters=0,
        status=Status.PENDING,
    ),
    DemoQuestion(
        title="Should video replay be used in more sports?",
        description="It fixes wrong calls but stops the game. Is the trade worth it?",
        tags=("sports", "technology"),
        choices=("Yes", "Only for decisive moments", "No, it ruins the flow"),
        age_days=1.5,
        voters=0,
    ),
    DemoQuestion(
        title="Open-plan offices: yes or no?",
        description="Collaboration hub or noisy distraction factory?",
        tags=("work",),
        choices=(
            "I love them",
            "Tolerable with enough quiet rooms",
            "I hate them",
            "I work remotely",
        ),
        age_days=9.5,
        voters=16,
    ),
    DemoQuestion(
        title="Should museums be free to enter?",
        description=(
            "Some countries let everyone into their national museums for free. "
            "Results appear when voting ends."
        ),
        tags=("city-life", "politics"),
        choices=(
            "Yes, all of them",
            "Free for residents",
            "Free one day a week",
            "No, tickets fund them",
        ),
        age_days=6.5,
        voters=10,
        closes_in_days=3,
        results=Results.AFTER_CLOSE,
    ),
    DemoQuestion(
        title="What is the best science fiction film of all time?",
        description="Only one pick. Sequels and remakes count as separate films.",
        tags=("movies", "science"),
        choices=(
            "2001: A Space Odyssey",
            "Blade Runner",
            "Alien",
            "The Matrix",
            "Arrival",
            "Interstellar",
        ),
        age_days=12.5,
        voters=21,
    ),
)

# Votes are spread over the last ten days; older questions simply got their
# earlier votes before the demo begins.
VOTE_WINDOW = timedelta(days=10)


class Command(BaseCommand):
    help = "Create demo tags, users, questions and votes; existing ones are left alone."

    def handle(self, *args, **options) -> None:
        now = timezone.now()
        rng = random.Random(2026)  # noqa: S311  (repeatable demo data, not security)
        tags = seed_tags()
        users = seed_users()
        voters = [users[name] for name in VOTER_NAMES]
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
                cast_votes(spec, question=question, voters=voters, now=now, rng=rng)
                if spec.status == Status.HIDDEN:
                    services.set_status(questions=[question], status=spec.status)
            created += 1
        # Every demo question, not only those with votes in the last week: a
        # question voted on only before that would otherwise keep the count
        # of its first vote (later refreshes on the vote path are throttled).
        demo_ids = Question.objects.filter(title__in=titles).values_list("pk", flat=True)
        rankings.refresh(question_ids=list(demo_ids))
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"seed_demo: {len(titles)} questions ({created} new), {len(tags)} tags, "
                f"{len(users)} users"
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
    password = env_secret("DEMO_PASSWORD", "beebeta-demo")
    users["demo"] = login_user("demo", password=password, staff=False)
    users["staff"] = login_user("staff", password=password, staff=True)
    return users


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


def vote_times(
    spec: DemoQuestion, *, question: Question, now: datetime, rng: random.Random
) -> list[datetime]:
    """When each vote is cast: after publication, before closing, ``recent`` in the last day."""
    start = max(question.published_at, now - VOTE_WINDOW)
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
