"""Moderation in /admin/: the moderation queue, questions, reports, tags, and
read-only views of votes and images.

Vote rows are the truth the counters are kept from, and only
``services.cast_vote`` keeps the two in step, so nothing here edits them.
Reports are the reporters' words: moderators resolve them, never edit them.
"""

from __future__ import annotations

from collections import Counter

from django.contrib import admin, messages
from django.db.models import Count, Model, Prefetch, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from polls import services
from polls.models import Ballot, Choice, Image, ModerationQueue, Question, Report, Tag, Vote

admin.site.site_header = "Beebeta moderation"
admin.site.site_title = "Beebeta moderation"


class ReadOnly:
    """For an admin or an inline whose rows are shown and never added, changed or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "question_count")
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(question_count=Count("questions"))

    @admin.display(description="questions", ordering="question_count")
    def question_count(self, tag: Tag) -> int:
        return tag.question_count


class ChoiceInline(admin.TabularInline):
    model = Choice
    fields = ("text", "position", "image")
    raw_id_fields = ("image",)
    extra = 2

    def has_delete_permission(self, request: HttpRequest, obj: Question | None = None) -> bool:
        # Deleting a choice cascades to its votes and would silently change
        # people's ballots and the counts; once anyone voted, choices stay.
        if obj is not None and obj.ballots.exists():
            return False
        return super().has_delete_permission(request, obj)


class _ViewOnlyFormSet(BaseInlineFormSet):
    """Rows shown, never submitted: a change form posted without them (a script,
    a hand-made request) must still save the question."""

    def is_valid(self) -> bool:
        return True

    def has_changed(self) -> bool:
        return False

    def save(self, commit: bool = True) -> list:
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        return []


class ReportInline(ReadOnly, admin.TabularInline):
    model = Report
    formset = _ViewOnlyFormSet
    fk_name = "question"
    fields = ("reason", "details", "reporter", "created_at", "resolved_at", "resolved_by")
    readonly_fields = fields
    ordering = ("-created_at",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return super().get_queryset(request).select_related("reporter", "resolved_by")


class NeedsReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("needed", "Needs review")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        if self.value() == "needed":
            return queryset.needs_review()
        return queryset


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "author", "published_at", "voter_count", "closes_at")
    list_filter = (NeedsReviewFilter, "status", "tags", "published_at")
    list_select_related = ("author",)
    date_hierarchy = "created_at"
    search_fields = ("title", "description", "slug")
    # Counting every question on each changelist page is a full scan on a big table.
    show_full_result_count = False
    inlines = (ChoiceInline, ReportInline)
    readonly_fields = ("slug", "voter_count", "votes_24h", "votes_7d", "created_at", "published_at")
    filter_horizontal = ("tags",)
    autocomplete_fields = ("author",)
    raw_id_fields = ("image",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "description", "author", "image", "tags")}),
        ("Voting", {"fields": ("status", "max_choices", "closes_at", "results_visibility")}),
        (
            "Figures",
            {"fields": ("created_at", "published_at", "voter_count", "votes_24h", "votes_7d")},
        ),
    )
    actions = ("publish", "hide", "close")

    @admin.action(description="Publish selected questions")
    def publish(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        self._set_status(request, queryset, Question.Status.PUBLISHED)

    @admin.action(description="Hide selected questions")
    def hide(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        self._set_status(request, queryset, Question.Status.HIDDEN)

    @admin.action(description="Close selected questions")
    def close(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        self._set_status(request, queryset, Question.Status.CLOSED)

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Question], status: Question.Status
    ) -> None:
        changed = services.set_status(questions=queryset, status=status)
        message = ngettext(
            "%(count)d question is now %(status)s.",
            "%(count)d questions are now %(status)s.",
            changed,
        ) % {"count": changed, "status": status.label.lower()}
        self.message_user(request, message, messages.SUCCESS)


@admin.register(ModerationQueue)
class ModerationQueueAdmin(admin.ModelAdmin):
    """Pending questions and reported ones (hidden by their reports or not),
    most reported first; each action settles the reports, so the queue empties.

    Signals that keep caches and search in step listen to Question, not to
    this proxy: actions hand the services Question rows, and editing happens
    on the question's own change page.
    """

    list_display = ("title", "status", "author", "report_count", "report_reasons", "created_at")
    list_filter = ("status",)
    list_select_related = ("author",)
    search_fields = ("title", "description", "slug")
    actions = ("approve", "hide_for_good", "ban_author")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        open_reports = Report.objects.filter(resolved_at__isnull=True).order_by("created_at")
        return (
            super()
            .get_queryset(request)
            .needs_review()
            .annotate(report_count=Count("reports", filter=Q(reports__resolved_at__isnull=True)))
            .prefetch_related(Prefetch("reports", queryset=open_reports, to_attr="open_reports"))
            .order_by("-report_count", "created_at")
        )

    def change_view(self, request: HttpRequest, object_id: str, *args, **kwargs):
        return redirect(reverse("admin:polls_question_change", args=[object_id]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Question | None = None) -> bool:
        return False

    @admin.display(description="open reports", ordering="report_count")
    def report_count(self, question: Question) -> int:
        return question.report_count

    @admin.display(description="reasons")
    def report_reasons(self, question: Question) -> str:
        reasons = Counter(report.get_reason_display() for report in question.open_reports)
        return ", ".join(f"{reason} ×{n}" if n > 1 else reason for reason, n in reasons.items())

    @admin.action(description="Approve (publish and clear reports)")
    def approve(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        questions = _questions(queryset)
        services.approve_questions(questions=questions, moderator=request.user)
        self._done(request, len(questions), "approved")

    @admin.action(description="Hide (and clear reports)")
    def hide_for_good(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        questions = _questions(queryset)
        services.hide_questions(questions=questions, moderator=request.user)
        self._done(request, len(questions), "hidden")

    @admin.action(description="Ban the author (and hide the question)")
    def ban_author(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        outcome = services.ban_authors(questions=_questions(queryset), moderator=request.user)
        if outcome.banned:
            names = ", ".join(user.get_username() for user in outcome.banned)
            message = ngettext(
                "Banned %(names)s; %(count)d question hidden.",
                "Banned %(names)s; %(count)d questions hidden.",
                outcome.hidden,
            ) % {"names": names, "count": outcome.hidden}
            self.message_user(request, message, messages.SUCCESS)
        if outcome.spared_staff:
            names = ", ".join(user.get_username() for user in outcome.spared_staff)
            self.message_user(request, f"Staff are never banned: {names}.", messages.WARNING)
        if not outcome.banned and not outcome.spared_staff:
            self.message_user(request, "Nobody to ban: no author.", messages.WARNING)

    def _done(self, request: HttpRequest, count: int, what: str) -> None:
        message = ngettext(
            "%(count)d question %(what)s; its reports are resolved.",
            "%(count)d questions %(what)s; their reports are resolved.",
            count,
        ) % {"count": count, "what": what}
        self.message_user(request, message, messages.SUCCESS)


def _questions(queryset: QuerySet[Question]) -> list[Question]:
    """The selected rows as Question instances (not the proxy), authors loaded."""
    pks = list(queryset.values_list("pk", flat=True))
    return list(Question.objects.filter(pk__in=pks).select_related("author"))


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("question", "reason", "reporter", "created_at", "resolved_at", "resolved_by")
    list_filter = (("resolved_at", admin.EmptyFieldListFilter), "reason", "created_at")
    list_select_related = ("question", "reporter", "resolved_by")
    search_fields = ("question__title", "reporter__username", "details")
    readonly_fields = ("question", "reporter", "reason", "details", "created_at")
    fields = readonly_fields + ("resolved_at", "resolved_by")
    raw_id_fields = ("resolved_by",)
    show_full_result_count = False
    actions = ("resolve",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark as resolved")
    def resolve(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        resolved = queryset.filter(resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by=request.user
        )
        self.message_user(
            request,
            ngettext("%d report resolved.", "%d reports resolved.", resolved) % resolved,
            messages.SUCCESS,
        )


class VoteInline(ReadOnly, admin.TabularInline):
    model = Vote
    fields = ("choice", "slot")
    readonly_fields = ("choice", "slot")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vote]:
        return super().get_queryset(request).select_related("choice").order_by("slot")


@admin.register(Ballot)
class BallotAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("user", "question", "created_at", "updated_at")
    list_select_related = ("user", "question")
    search_fields = ("user__username", "question__title")
    show_full_result_count = False
    inlines = (VoteInline,)


@admin.register(Image)
class ImageAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("display", "display_size", "thumbnail_size", "uploaded_by", "created_at")
    list_select_related = ("uploaded_by",)
    search_fields = ("display", "alt_text", "uploaded_by__username")

    @admin.display(description="display size")
    def display_size(self, image: Image) -> str:
        return f"{image.display_width}×{image.display_height}"

    @admin.display(description="thumbnail size")
    def thumbnail_size(self, image: Image) -> str:
        return f"{image.thumbnail_width}×{image.thumbnail_height}"
