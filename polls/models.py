"""Questions, choices, tags and votes.

The vote rows (Ballot and Vote) are the truth. ChoiceTally and QuestionTally
are counters kept in the same transaction as the vote rows, spread over
TALLY_SHARDS rows each so that many people voting on one question do not all
wait for one row lock; reading a count sums a bounded number of rows instead
of scanning the votes. VoteActivity counts first votes per hour for Trending.
The ranking columns on Question (voter_count, votes_24h, votes_7d) are copies
refreshed from those tables, used only to order lists.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.user_groups import UserGroup

TALLY_SHARDS = 16
MAX_CHOICES = 12
QUESTION_TITLE_LENGTH = 200
TAG_NAME_LENGTH = 50
# What a list row shows besides its own columns and image (QuestionQuerySet.for_cards).
CARD_PREFETCH = ("tags",)


class Tag(models.Model):
    name = models.CharField(max_length=TAG_NAME_LENGTH, unique=True)
    slug = models.SlugField(max_length=60, unique=True, allow_unicode=True)

    class Meta:
        # Without regard to case on every database (SQLite compares bytes). Django takes any
        # expression here; the stubs know only names and OrderBy.
        ordering: ClassVar[list[Any]] = [Lower("name"), "name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("polls:tag", args=[self.slug])


class Image(models.Model):
    """An uploaded picture: the private original and the sizes pages show.

    Width and height are stored so that rendering a page never asks storage.
    """

    original = models.FileField(max_length=255)
    display = models.FileField(max_length=255)
    display_width = models.PositiveIntegerField()
    display_height = models.PositiveIntegerField()
    thumbnail = models.FileField(max_length=255)
    thumbnail_width = models.PositiveIntegerField()
    thumbnail_height = models.PositiveIntegerField()
    alt_text = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.display.name


class QuestionQuerySet(models.QuerySet):
    def public(self) -> QuestionQuerySet:
        """Questions anyone may see: published ones and closed ones."""
        return self.filter(status__in=PUBLIC_STATUSES)

    def for_cards(self) -> QuestionQuerySet:
        """What a list row needs, in two queries whatever the page size (the rows without
        their long text, which no list shows, with their image; then their tags)."""
        return self.rows_for_cards().prefetch_related(*CARD_PREFETCH)

    def rows_for_cards(self) -> QuestionQuerySet:
        """for_cards() without the tags: for polls.paging, which fetches them once per page."""
        return self.select_related("image", "leading_choice").defer("description", "search_text")

    def needs_review(self) -> QuestionQuerySet:
        """Pending questions, and questions with open reports (hidden by them or not)."""
        open_reports = Report.objects.filter(
            question=models.OuterRef("pk"), resolved_at__isnull=True
        )
        return self.filter(Q(status=Question.Status.PENDING) | Q(models.Exists(open_reports)))


class QuestionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING = "pending", "Pending review"
    PUBLISHED = "published", "Published"
    HIDDEN = "hidden", "Hidden"
    CLOSED = "closed", "Closed"


# The statuses anyone may see a question in; any other is a 404 outside the admin.
PUBLIC_STATUSES = (QuestionStatus.PUBLISHED, QuestionStatus.CLOSED)


class Question(models.Model):
    Status = QuestionStatus

    class Results(models.TextChoices):
        ALWAYS = "always", "Always"
        AFTER_VOTE = "after_vote", "Only after voting"
        AFTER_CLOSE = "after_close", "Only after the question closes"

    title = models.CharField(max_length=QUESTION_TITLE_LENGTH)
    # The question's address: made from the title once, unique, and never
    # changed after publication (admin makes it read-only then).
    slug = models.SlugField(max_length=90, unique=True, allow_unicode=True, editable=False)
    description = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="questions",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    max_choices = models.PositiveSmallIntegerField(
        default=1,
        help_text="1 for a single-choice question; more lets a voter pick up to this many.",
    )
    closes_at = models.DateTimeField(null=True, blank=True)
    results_visibility = models.CharField(
        max_length=12, choices=Results.choices, default=Results.ALWAYS
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="questions")
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # Ranking copies, refreshed from the tallies; see polls.rankings.
    voter_count = models.PositiveIntegerField(default=0, editable=False)
    votes_24h = models.PositiveIntegerField(default=0, editable=False)
    votes_7d = models.PositiveIntegerField(default=0, editable=False)
    # The choice with the most votes and its votes, for the lists' cards; refreshed with the
    # ranking copies. No leading choice with votes means a tie at the top.
    leading_choice = models.ForeignKey(
        "Choice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    leading_votes = models.PositiveIntegerField(default=0, editable=False)
    # When the question was held in the moderation queue on asking (None: it never was).
    held_for_review_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Title, description and choices in one column, for search.
    search_text = models.TextField(blank=True, editable=False)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["status", "published_at", "id"], name="question_newest"),
            models.Index(fields=["status", "voter_count", "id"], name="question_most_voted"),
            models.Index(
                fields=["status", "votes_24h", "votes_7d", "id"], name="question_trending"
            ),
            # Moderation insights count the questions held per day.
            models.Index(fields=["held_for_review_at"], name="question_held"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_choices__gte=1) & Q(max_choices__lte=MAX_CHOICES),
                name="question_max_choices_range",
            ),
            # Keyset pagination sorts public questions by published_at.
            models.CheckConstraint(
                condition=Q(published_at__isnull=False) | ~Q(status__in=PUBLIC_STATUSES),
                name="public_question_has_published_at",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        if self.status in PUBLIC_STATUSES and self.published_at is None:
            self.published_at = timezone.now()
        if self.slug:
            super().save(*args, **kwargs)
            return
        # Two questions with the same title can be saved at the same moment;
        # the unique constraint decides, and the loser takes the next suffix.
        for attempt in range(1, 6):
            self.slug = _free_slug(self.title, salted=attempt > 1)
            try:
                with transaction.atomic():
                    super().save(*args, **kwargs)
                return
            except IntegrityError:
                self.slug = ""
                if attempt == 5:
                    raise

    def get_absolute_url(self) -> str:
        return reverse("polls:question", args=[self.slug])

    @property
    def is_public(self) -> bool:
        return self.status in PUBLIC_STATUSES

    @property
    def allows_multiple(self) -> bool:
        return self.max_choices > 1

    @property
    def results_public(self) -> bool:
        """Whether everyone, voter or not, may see the results now."""
        return self.results_visible_to(has_voted=False)

    @property
    def leading_share(self) -> float:
        """The leading choice's share of the voters, in percent (from the ranking copies)."""
        return 100 * self.leading_votes / self.voter_count if self.voter_count else 0.0

    def is_closed(self, now: datetime | None = None) -> bool:
        if self.status == self.Status.CLOSED:
            return True
        return self.closes_at is not None and self.closes_at <= (now or timezone.now())

    def results_visible_to(self, *, has_voted: bool, now: datetime | None = None) -> bool:
        if self.results_visibility == self.Results.ALWAYS:
            return True
        if self.results_visibility == self.Results.AFTER_VOTE:
            # Once voting has ended nobody can vote any more, so hiding the
            # results would hide them for ever from everyone who did not vote.
            return has_voted or self.is_closed(now)
        return self.is_closed(now)


def _free_slug(title: str, *, salted: bool = False) -> str:
    base = slugify(title, allow_unicode=True)[:80].strip("-") or "question"
    if salted:
        # MySQL compares slugs without case or accents, so a slug unique to
        # Python may still collide; a random suffix settles it.
        base = f"{base}-{secrets.token_hex(3)}"
    taken = set(Question.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    image = models.ForeignKey(Image, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Ballot(models.Model):
    """One person's vote on one question; its Vote rows are the chosen choices."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ballots"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="ballots")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="one_ballot_per_user"),
        ]
        indexes = [models.Index(fields=["question", "created_at"], name="ballot_question_time")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.question_id}"


class Vote(models.Model):
    """One chosen choice of a ballot.

    ``slot`` numbers the choices of a ballot from 0; a single-choice question
    only ever uses slot 0, so the (ballot, slot) constraint makes a second
    vote row for it impossible even if the application erred.
    """

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="votes")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="votes")
    slot = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "choice"], name="one_vote_per_choice"),
            models.UniqueConstraint(fields=["ballot", "slot"], name="one_vote_per_slot"),
            models.CheckConstraint(condition=Q(slot__lt=MAX_CHOICES), name="vote_slot_range"),
        ]

    def __str__(self) -> str:
        return f"ballot {self.ballot_id}: choice {self.choice_id}"


class ChoiceTally(models.Model):
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="+")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    shard = models.PositiveSmallIntegerField()
    # A shard may go below zero (a vote counted on one shard, withdrawn on
    # another); only the sum over shards means anything.
    votes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["choice", "shard"], name="choice_tally_shard"),
        ]
        indexes = [models.Index(fields=["question"], name="choice_tally_question")]

    def __str__(self) -> str:
        return f"choice {self.choice_id} shard {self.shard}: {self.votes}"


class QuestionTally(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    shard = models.PositiveSmallIntegerField()
    voters = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "shard"], name="question_tally_shard"),
        ]

    def __str__(self) -> str:
        return f"question {self.question_id} shard {self.shard}: {self.voters}"


class VoteActivity(models.Model):
    """First votes per question per hour (UTC), for Trending and insights."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    shard = models.PositiveSmallIntegerField()
    votes = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "hour", "shard"], name="vote_activity_shard"
            ),
        ]
        indexes = [models.Index(fields=["hour", "question"], name="vote_activity_hour")]

    def __str__(self) -> str:
        return f"question {self.question_id} at {self.hour:%Y-%m-%d %H}:00: {self.votes}"


class Report(models.Model):
    """Someone signed in flagged a question for the moderators."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        OFFENSIVE = "offensive", "Offensive or hateful"
        PERSONAL = "personal", "Targets or exposes a person"
        DUPLICATE = "duplicate", "Duplicate of another question"
        OTHER = "other", "Something else"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.CharField(max_length=12, choices=Reason.choices)
    details = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "reporter"], name="one_report_per_user"),
        ]
        indexes = [models.Index(fields=["resolved_at", "question"], name="report_open")]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} on {self.question_id}"


class ModerationQueue(Question):
    """The questions a moderator should look at, as their own page in the admin."""

    class Meta:
        proxy = True
        verbose_name = "question to review"
        verbose_name_plural = "moderation queue"


# --- Staff insights: hourly roll-ups ------------------------------------------------------


class RollUp(models.Model):
    """A roll-up row: question page views and first votes, summed over a period."""

    views = models.PositiveIntegerField(default=0, db_default=0)
    votes = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class QuestionRollUp(RollUp):
    """The roll-up of one question over one period."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    @staticmethod
    def keys(period: str, name: str) -> tuple[list[models.BaseConstraint], list[models.Index]]:
        """One row per (period, question), and an index that answers a ranking's sums over a
        range of periods by itself."""
        return (
            [models.UniqueConstraint(fields=[period, "question"], name=f"{name}_key")],
            [models.Index(fields=[period, "question", "views", "votes"], name=f"{name}_cover")],
        )


class QuestionHourly(QuestionRollUp):
    """Page views and first votes of one question in one hour (UTC).

    Views are added by ``flush_view_counts`` from the memcached counters;
    votes are copied from VoteActivity (summed over its shards) for the
    recent hours by the same command. Nothing writes here on a request.
    """

    hour = models.DateTimeField()

    class Meta:
        constraints, indexes = QuestionRollUp.keys("hour", "question_hourly")

    def __str__(self) -> str:
        return f"question {self.question_id} at {self.hour:%Y-%m-%d %H}:00"


class QuestionDaily(QuestionRollUp):
    """The same figures per UTC day, so that a 30-day ranking reads 30 rows per
    question instead of 720."""

    day = models.DateField()

    class Meta:
        constraints, indexes = QuestionRollUp.keys("day", "question_daily")

    def __str__(self) -> str:
        return f"question {self.question_id} on {self.day:%Y-%m-%d}"


class GroupActivityHourly(RollUp):
    """Question views and first votes of one group of users in one hour (UTC)."""

    hour = models.DateTimeField()
    group = models.CharField(max_length=12, choices=UserGroup.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hour", "group"], name="group_activity_key"),
        ]

    def __str__(self) -> str:
        return f"{self.group} at {self.hour:%Y-%m-%d %H}:00"


# --- Results over time (polls.history) and by group (polls.groups) ---------------------------


class ResultDay(models.Model):
    """A question's results as they stood on one UTC day, read from its tallies by
    ``manage.py snapshot_results`` (or reconstructed from its vote rows, and marked so).

    Rows are sparse: a question has a row for a day only when its figures differed from its
    row before; on a day the snapshot ran without writing one (``SnapshotRun``), they were
    unchanged. Today's row is rewritten by each run; an earlier day's never is.
    """

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    voters = models.PositiveIntegerField()
    # Votes per choice, {choice id (a string, as JSON keys are): votes}, choices with none left out.
    votes = models.JSONField(default=dict)
    # When these figures were read from the tallies; for a reconstructed day, when it was made.
    counted_at = models.DateTimeField()
    # Counted afterwards from the vote rows as they are now (before snapshots of the question
    # began): a vote changed or withdrawn since is not what it was that day.
    reconstructed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "day"], name="result_day_key"),
        ]

    def __str__(self) -> str:
        return f"question {self.question_id} on {self.day:%Y-%m-%d}"


class SnapshotRun(models.Model):
    """A UTC day on which ``snapshot_results`` read every question to the end at least once,
    and when the last such run began: a question without a row for that day was unchanged."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"snapshot of {self.day:%Y-%m-%d}"


class GroupRelease(models.Model):
    """How the groups of one split of a question answered, as last released (polls.groups)."""

    class Split(models.TextChoices):
        ACCOUNT = "account", "By account age"
        PERIOD = "period", "By when they voted"

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    split = models.CharField(max_length=10, choices=Split.choices)
    # None until the first release.
    released_at = models.DateTimeField(null=True, blank=True)
    # {group: {"voters": n, "votes": {choice id: votes}}} as released.
    figures = models.JSONField(default=dict)
    # Groups with fewer than GROUP_MIN_VOTERS voters when last checked.
    below_minimum = models.JSONField(default=list)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "split"], name="group_release_key"),
        ]

    def __str__(self) -> str:
        return f"question {self.question_id} {self.split}"


# --- Whether to trust a result (polls.integrity), what else its voters chose (polls.covoting) ---


class IntegrityCheck(models.Model):
    """The integrity signals of one question as last released by ``manage.py refresh_insights``:
    the share of voters whose account was young when they voted, the busiest five minutes
    against the question's usual rate, and the flags those raise (polls.integrity)."""

    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="+")
    # None until the first release; the released figures change only after k changes.
    released_at = models.DateTimeField(null=True, blank=True)
    # {"voters", "young", "young_shown", "peak": {"start", "votes", "typical"} | None}
    figures = models.JSONField(default=dict)
    # Voters when released, for counting withdrawals since (never shown).
    voters_then = models.PositiveIntegerField(default=0)
    new_accounts_flag = models.BooleanField(default=False)
    burst_flag = models.BooleanField(default=False)
    # The start of the latest window a flag points at (five minutes, or an hour of young
    # accounts): staff insights list the questions flagged recently first.
    flagged_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["flagged_at"], name="integrity_flagged")]

    def __str__(self) -> str:
        return f"integrity of question {self.question_id}"


class CoVoting(models.Model):
    """The strongest released association between a choice of ``question`` and a choice of
    ``other`` among the people who voted on both (polls.covoting): "people who chose
    ``choice`` here were ``lift`` times as likely as others to choose ``other_choice`` there"."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="+")
    other_choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="+")
    # Rounded, as published: common voters, and the four cells the lift is computed from.
    common = models.PositiveIntegerField()
    figures = models.JSONField(default=dict)
    lift = models.FloatField()
    # Exact common voters when released, for counting withdrawals since (never shown).
    common_then = models.PositiveIntegerField(default=0)
    released_at = models.DateTimeField()
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["question", "other"], name="co_voting_pair"),
        ]

    def __str__(self) -> str:
        return f"question {self.question_id} with {self.other_id}"


class QuestionGroupHourly(RollUp):
    """Page views and first votes of one question by one group of users in one hour (UTC):
    the public activity heatmaps of a question and of a tag."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    group = models.CharField(max_length=12, choices=UserGroup.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["question", "hour", "group"], name="question_group_hourly_key"
            ),
        ]

    def __str__(self) -> str:
        return f"question {self.question_id}, {self.group} at {self.hour:%Y-%m-%d %H}:00"
