"""Moderation in /admin/: questions, tags, and read-only views of votes and images.

Vote rows are the truth the counters are kept from, and only
``services.cast_vote`` keeps the two in step, so nothing here edits them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from polls import services
from polls.models import Ballot, Choice, Image, Question, Tag, Vote

admin.site.site_header = "Beebeta moderation"
admin.site.site_title = "Beebeta moderation"


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


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "author", "published_at", "voter_count", "closes_at")
    list_filter = ("status", "tags", "published_at")
    list_select_related = ("author",)
    date_hierarchy = "created_at"
    search_fields = ("title", "description", "slug")
    # Counting every question on each changelist page is a full scan on a big table.
    show_full_result_count = False
    inlines = (ChoiceInline,)
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


class VoteInline(admin.TabularInline):
    model = Vote
    fields = ("choice", "slot")
    readonly_fields = ("choice", "slot")
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[Vote]:
        return super().get_queryset(request).select_related("choice").order_by("slot")

    def has_add_permission(self, request: HttpRequest, obj: Ballot | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Ballot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ballot | None = None) -> bool:
        return False


@admin.register(Ballot)
class BallotAdmin(admin.ModelAdmin):
    list_display = ("user", "question", "created_at", "updated_at")
    list_select_related = ("user", "question")
    search_fields = ("user__username", "question__title")
    show_full_result_count = False
    inlines = (VoteInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Ballot | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Ballot | None = None) -> bool:
        return False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("display", "display_size", "thumbnail_size", "uploaded_by", "created_at")
    list_select_related = ("uploaded_by",)
    search_fields = ("display", "alt_text", "uploaded_by__username")

    @admin.display(description="display size")
    def display_size(self, image: Image) -> str:
        return f"{image.display_width}×{image.display_height}"

    @admin.display(description="thumbnail size")
    def thumbnail_size(self, image: Image) -> str:
        return f"{image.thumbnail_width}×{image.thumbnail_height}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Image | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Image | None = None) -> bool:
        return False
