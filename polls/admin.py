"""Moderation in /admin/: the moderation queue, questions, reports, tags, and
read-only views of votes and images.

Vote rows are the truth the counters are kept from, and only
``services.cast_vote`` keeps the two in step, so nothing here edits them.
Reports are the reporters' words: moderators resolve them, never edit them.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, TypedDict, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Model,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.services import may_ban
from beebeta.request_types import AuthenticatedHttpRequest
from polls import images, services
from polls.models import (
    Ballot,
    Choice,
    Image,
    ModerationQueue,
    Question,
    QuestionQuerySet,
    QuestionStatus,
    Report,
    Tag,
    Vote,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    # What the admin's querysets add to their rows.
    class _TagCounts(TypedDict):
        question_count: int

    class _OpenReports(TypedDict):
        open_reports: list[Report]


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
    def question_count(self, tag: WithAnnotations[Tag, _TagCounts]) -> int:
        return tag.question_count


def picture(image: Image | None) -> SafeString | str:
    """A picture as moderators should see it: the thumbnail and its description."""
    if image is None:
        return "no picture"
    return format_html(
        '<img class="moderation-thumb" src="{}" width="{}" height="{}" alt="{}"> {}',
        image.thumbnail.url,
        image.thumbnail_width,
        image.thumbnail_height,
        image.alt_text,
        image.alt_text or "no description",
    )


class ChoiceInline(admin.TabularInline):
    model = Choice
    fields = ("text", "position", "image", "picture")
    readonly_fields = ("picture",)
    raw_id_fields = ("image",)
    extra = 2

    @admin.display(description="picture as shown")
    def picture(self, choice: Choice) -> SafeString | str:
        return picture(choice.image)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Choice]:
        return super().get_queryset(request).select_related("image")

    def has_delete_permission(self, request: HttpRequest, obj: Question | None = None) -> bool:
        # Deleting a choice cascades to its votes and would silently change
        # people's ballots and the counts; once anyone voted, choices stay.
        if obj is not None and obj.ballots.exists():
            return False
        return super().has_delete_permission(request, obj)


class NeedsReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("needed", "Needs review")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Question]) -> QuerySet[Question]:
        if self.value() == "needed":
            # The admin's querysets come from Question's manager.
            return cast(QuestionQuerySet, queryset).needs_review()
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
    inlines = (ChoiceInline,)
    readonly_fields = (
        "slug",
        "voter_count",
        "votes_24h",
        "votes_7d",
        "created_at",
        "published_at",
        "picture",
    )
    filter_horizontal = ("tags",)
    autocomplete_fields = ("author",)
    raw_id_fields = ("image",)
    # The reports and the moderation buttons come first (templates/admin/polls/question/).
    change_form_template = "admin/polls/question/change_form.html"
    fieldsets = (
        (None, {"fields": ("title", "slug", "description", "author", "image", "picture", "tags")}),
        ("Voting", {"fields": ("status", "max_choices", "closes_at", "results_visibility")}),
        (
            "Figures",
            {"fields": ("created_at", "published_at", "voter_count", "votes_24h", "votes_7d")},
        ),
    )
    actions = ("publish", "hide", "close")

    @admin.display(description="picture as shown")
    def picture(self, question: Question) -> SafeString | str:
        return picture(question.image)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        question = self.get_object(request, object_id)
        if question is not None:
            extra_context = {**(extra_context or {}), **moderation_context(request, question)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Publish selected questions", permissions=("change",))
    def publish(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        self._set_status(request, queryset, Question.Status.PUBLISHED)

    @admin.action(description="Hide selected questions", permissions=("change",))
    def hide(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        self._set_status(request, queryset, Question.Status.HIDDEN)

    @admin.action(description="Close selected questions", permissions=("change",))
    def close(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        self._set_status(request, queryset, Question.Status.CLOSED)

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Question], status: QuestionStatus
    ) -> None:
        changed = services.set_status(questions=queryset, status=status)
        message = ngettext(
            "%(count)d question is now %(status)s.",
            "%(count)d questions are now %(status)s.",
            changed,
        ) % {"count": changed, "status": status.label.lower()}
        self.message_user(request, message, messages.SUCCESS)


# --- The moderation queue and its decisions ---------------------------------------------------

DECISIONS = {
    "approve": "Approve",
    "hide": "Hide",
    "ban": "Ban the author",
}


def _reports_of(question: Question) -> QuerySet[Report]:
    """A question's reports, open ones first, newest first within each."""
    return (
        Report.objects.filter(question=question)
        .select_related("reporter", "resolved_by")
        .order_by(F("resolved_at").desc(nulls_first=True), "-created_at")
    )


def allowed_decisions(request: HttpRequest) -> dict[str, str]:
    """The decisions ``request.user`` may take: none without the right to change the queue
    (view-only staff), and banning only with the right to ban."""
    user = request.user
    if not user.has_perm("polls.change_moderationqueue"):
        return {}
    return {key: label for key, label in DECISIONS.items() if key != "ban" or may_ban(user)}


def moderation_context(request: HttpRequest, question: Question) -> dict:
    """What the question's change page shows above its fields: its reports and the buttons."""
    return {
        "reports": list(_reports_of(question)),
        "decide_url": reverse("admin:polls_moderationqueue_decide", args=[question.pk]),
        "decisions": allowed_decisions(request),
        "author_is_staff": bool(question.author and question.author.is_staff),
    }


@admin.register(ModerationQueue)
class ModerationQueueAdmin(admin.ModelAdmin):
    """Pending questions and reported ones (hidden by their reports or not),
    most reported first; each decision settles the reports, so the queue empties.

    Each row shows what a moderator decides on: the open reports first, then the question's
    title, description, choices and pictures, with Approve, Hide and Ban the author beside
    them (POSTed to decide_view); the same three are actions for many rows at once.

    Signals that keep caches and search in step listen to Question, not to
    this proxy: actions hand the services Question rows, and editing happens
    on the question's own change page.
    """

    list_display = ("report_reasons", "content")
    list_display_links = None
    list_filter = ("status",)
    list_select_related = ("author", "image")
    search_fields = ("title", "description", "slug")
    actions = ("approve", "hide_for_good", "ban_author")
    change_list_template = "admin/polls/moderationqueue/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        open_reports = (
            Report.objects.filter(resolved_at__isnull=True)
            .select_related("reporter")
            # Whether each report counts toward hiding the question (services.weighty_reports).
            .annotate(reporter_votes=Count("reporter__ballots", distinct=True))
            .annotate(
                counts=ExpressionWrapper(
                    services.counted_reporter("reporter__", "reporter_votes"),
                    output_field=BooleanField(),
                )
            )
            .order_by("created_at")
        )
        return (
            cast(QuestionQuerySet, super().get_queryset(request))
            .needs_review()
            .annotate(report_count=Count("reports", filter=Q(reports__resolved_at__isnull=True)))
            .prefetch_related(
                Prefetch("reports", queryset=open_reports, to_attr="open_reports"),
                Prefetch("choices", queryset=Choice.objects.select_related("image")),
            )
            .order_by("-report_count", "created_at")
        )

    def get_urls(self) -> list:
        decide = path(
            "<path:object_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="polls_moderationqueue_decide",
        )
        return [decide, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        title = {"title": "Questions to review: reported ones first"}
        return super().changelist_view(request, {**title, **(extra_context or {})})

    def change_view(self, request: HttpRequest, object_id: str, *args, **kwargs):
        return redirect(reverse("admin:polls_question_change", args=[object_id]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Question | None = None) -> bool:
        return False

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request) and may_ban(request.user)

    def get_list_display(self, request: HttpRequest) -> tuple:
        # Each row's buttons are the decisions this moderator may take; none, no column.
        decisions = allowed_decisions(request)
        if not decisions:
            return self.list_display

        @admin.display(description="decide")
        def decide(question: Question) -> str:
            return render_to_string(
                "admin/polls/moderationqueue/_decide.html",
                {
                    "question": question,
                    "decide_url": reverse("admin:polls_moderationqueue_decide", args=[question.pk]),
                    "decisions": decisions,
                },
            )

        return (*self.list_display, decide)

    @admin.display(description="open reports", ordering="report_count")
    def report_reasons(self, question: WithAnnotations[Question, _OpenReports]) -> SafeString | str:
        if not question.open_reports:
            return "none"
        reasons = Counter(report.get_reason_display() for report in question.open_reports)
        summary = ", ".join(f"{reason} ×{n}" if n > 1 else reason for reason, n in reasons.items())
        return render_to_string(
            "admin/polls/moderationqueue/_reports.html",
            {"summary": summary, "reports": question.open_reports},
        )

    @admin.display(description="question")
    def content(self, question: Question) -> str:
        return render_to_string(
            "admin/polls/moderationqueue/_content.html",
            {
                "question": question,
                "change_url": reverse("admin:polls_question_change", args=[question.pk]),
            },
        )

    @admin.action(description="Approve (publish and clear reports)", permissions=("change",))
    def approve(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Question]) -> None:
        self._apply(request, "approve", _questions(queryset))

    @admin.action(description="Hide (and clear reports)", permissions=("change",))
    def hide_for_good(
        self, request: AuthenticatedHttpRequest, queryset: QuerySet[Question]
    ) -> None:
        self._apply(request, "hide", _questions(queryset))

    @admin.action(description="Ban the author (and hide the question)", permissions=("ban",))
    def ban_author(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Question]) -> None:
        self._apply(request, "ban", _questions(queryset))

    @method_decorator(require_POST)
    def decide_view(self, request: AuthenticatedHttpRequest, object_id: str) -> HttpResponse:
        """One decision on one question, from its row in the queue or its change page."""
        decision = request.POST.get("decision", "")
        allowed = allowed_decisions(request)
        if not allowed or (decision in DECISIONS and decision not in allowed):
            raise PermissionDenied
        if decision in allowed:
            question = get_object_or_404(Question.objects.select_related("author"), pk=object_id)
            self._apply(request, decision, [question])
        else:
            self.message_user(request, "Pick Approve, Hide or Ban the author.", messages.ERROR)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("admin:polls_moderationqueue_changelist")
        return redirect(back)

    def _apply(
        self, request: AuthenticatedHttpRequest, decision: str, questions: list[Question]
    ) -> None:
        if decision == "approve":
            services.approve_questions(questions=questions, moderator=request.user)
            self._done(request, len(questions), "approved")
        elif decision == "hide":
            services.hide_questions(questions=questions, moderator=request.user)
            self._done(request, len(questions), "hidden")
        else:
            self._banned(request, services.ban_authors(questions=questions, moderator=request.user))

    def _banned(self, request: HttpRequest, outcome: services.BanOutcome) -> None:
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

    @admin.action(description="Mark as resolved", permissions=("change",))
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
    # The model's field would link the original through the default storage, the CDN's, which
    # never serves originals: the link below goes through original_view instead.
    exclude = ("original",)
    readonly_fields = ("original_link",)

    def get_urls(self) -> list:
        original = path(
            "<path:object_id>/original/",
            self.admin_site.admin_view(self.original_view),
            name="polls_image_original",
        )
        return [original, *super().get_urls()]

    @admin.display(description="original")
    def original_link(self, image: Image) -> SafeString:
        url = reverse("admin:polls_image_original", args=[image.pk])
        return format_html('<a href="{}">{}</a>', url, image.original.name)

    def original_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        """The picture as uploaded, for staff who may view images: on S3 a redirect to a
        signed URL that expires in five minutes, on disk the file itself."""
        image = self.get_object(request, object_id)
        if image is None or not self.has_view_permission(request, image):
            raise Http404("No such picture.")
        response = images.original_response(image)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response

    @admin.display(description="display size")
    def display_size(self, image: Image) -> str:
        return f"{image.display_width}×{image.display_height}"

    @admin.display(description="thumbnail size")
    def thumbnail_size(self, image: Image) -> str:
        return f"{image.thumbnail_width}×{image.thumbnail_height}"
