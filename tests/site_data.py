"""A small Beebeta with every kind of content a page must cope with, for the guards that walk
the route table (tests/test_page_structure.py, tests/test_sweep.py).

It has a 200-character title, long unbroken words in a title, a description, a choice, a tag and
a username, a closed question, one whose results wait for its closing, one waiting for review
(which only staff can open), a reported one, and votes from the member who visits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import EmailLink
from polls import history, integrity, services
from polls.models import Choice, Image, Question, Tag
from tests.routes import ANONYMOUS, LINK_TOKEN, MEMBER, STAFF

LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis"
# 200 characters, the longest title the ask form takes, made of ordinary words.
LONG_TITLE = (
    "Which of these long-standing neighbourhood traditions would you most like the city council "
    "to keep funding next year, given that the budget for festivals, markets and street parties "
    "has to shrink?"
)[:200]
# A member whose name is one long word, as the header shows it.
MEMBER_NAME = "averyveryverylongusernamewithoutspaces"


@dataclass
class Site:
    member: object
    staff: object
    tag: Tag
    # The question pages each role visits; the first is an ordinary open question.
    question_slugs: dict[str, list[str]] = field(default_factory=dict)
    queries: dict[str, tuple[str, ...]] = field(default_factory=dict)


def question(title: str, choices: tuple[str, ...], *, tags=(), author=None, **fields) -> Question:
    fields.setdefault("status", Question.Status.PUBLISHED)
    made = Question.objects.create(title=title, author=author, **fields)
    for position, text in enumerate(choices):
        Choice.objects.create(question=made, text=text, position=position)
    made.tags.add(*tags)
    return made


def build_site(*, member_password: str, staff_user, pictures: list[Image] | None = None) -> Site:
    """The site's content; ``pictures`` (a question's, then a choice's) are shown when given."""
    User = get_user_model()
    member = User.objects.create_user(
        username=MEMBER_NAME, email="member@example.com", password=member_password
    )
    voters = [User.objects.create_user(username=f"voter{n}") for n in range(12)]
    tag = Tag.objects.create(name="Café", slug="café")
    long_tag = Tag.objects.create(name=("Long" + LONG_WORD)[:50], slug="long-word")
    now = timezone.now()
    image, choice_image = (pictures or [None, None])[:2]
    ramen = question(
        "Which restaurant serves the best ramen?",
        ("Ichiran", "Ippudo", "Menya"),
        tags=(tag,),
        author=staff_user,
        description="Settle it once and for all: the bowl you would queue for in the rain.",
        image=image,
    )
    if choice_image is not None:
        Choice.objects.filter(pk=ramen.choices.first().pk).update(image=choice_image)
    long = question(
        f"Is {LONG_WORD}{LONG_WORD}{LONG_WORD} a real word?",
        (f"Yes {LONG_WORD * 3}", "No"),
        tags=(long_tag, tag),
        author=member,
        description=LONG_WORD * 6,
        closes_at=now + timedelta(hours=5),
    )
    long_title = question(LONG_TITLE, ("Markets", "Festivals", "Street parties"), tags=(tag,))
    closed = question("Was the old stadium better?", ("Yes", "No"))
    after_close = question(
        "Should museums be free to enter?",
        ("Yes", "No"),
        closes_at=now + timedelta(days=3),
        results_visibility=Question.Results.AFTER_CLOSE,
    )
    pending = question(
        "A brand new member's first question?",
        ("Yes", "No"),
        author=member,
        status=Question.Status.PENDING,
        held_for_review_at=now,
    )
    hidden = question("Cheap watches, buy now?", ("Yes", "No"), author=member)
    services.set_status(questions=[hidden], status=Question.Status.HIDDEN)
    for n, voter in enumerate(voters):
        for voted in (ramen, long, long_title, closed):
            choice = list(voted.choices.all())[n % voted.choices.count()]
            services.cast_vote(user=voter, question=voted, choice_ids=[choice.pk])
    services.cast_vote(user=member, question=ramen, choice_ids=[ramen.choices.last().pk])
    # Twenty more brand-new accounts on the long question at once: its integrity panel flags a
    # burst and many new accounts, and staff insights list it.
    for n in range(20):
        pusher = User.objects.create_user(username=f"pusher{n}")
        services.cast_vote(user=pusher, question=long, choice_ids=[long.choices.first().pk])
    # Closed once its votes are in.
    Question.objects.filter(pk=closed.pk).update(closes_at=now - timedelta(hours=1))
    services.report_question(question=ramen, reporter=voters[0], reason="spam", details="An ad.")
    # What the timers release: the history's group splits and the integrity panels.
    history.take_snapshot()
    integrity.refresh()
    # A link as if emailed to the member, for the page it opens (tests/routes.py's LINK_TOKEN).
    EmailLink.objects.create(
        user=member,
        purpose=EmailLink.Purpose.SIGN_IN,
        token_digest=hashlib.sha256(LINK_TOKEN.encode()).hexdigest(),
        question=ramen,
        expires_at=now + timedelta(days=1),
    )
    public = [ramen.slug, long.slug, long_title.slug, closed.slug, after_close.slug]
    return Site(
        member=member,
        staff=staff_user,
        tag=tag,
        question_slugs={
            ANONYMOUS: public,
            MEMBER: public,
            # Staff open questions the public cannot see, marked as not public.
            STAFF: [*public, pending.slug, hidden.slug],
        },
        queries={
            "polls:search": ("q=ramen", "q=caf%C3%A9", f"q={LONG_WORD}", "q=nothing+like+this"),
            "polls:insights_activity": ("tz=Asia/Kolkata",),
            "polls:insights_signups": ("days=90",),
            # The pick of the question page's vote form, held by "Almost there".
            "polls:almost_there": (f"choice={ramen.choices.first().pk}",),
        },
    )
