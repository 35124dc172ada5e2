"""Accounts in /admin/: Django's user admin plus banning.

A ban is made only through the "Ban selected users" action, which ends the
user's sessions at once; a Ban row added by hand would not.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import ngettext
from post_office.admin import EmailAdmin
from post_office.models import STATUS, Email

from accounts import services
from accounts.models import AccountEmail, Ban, email_key
from beebeta.request_types import AuthenticatedHttpRequest


class BanInline(admin.StackedInline):
    model = Ban
    fk_name = "user"
    fields = ("banned_at", "banned_by", "reason")
    readonly_fields = ("banned_at", "banned_by", "reason")
    can_delete = True
    extra = 0
    max_num = 1

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class BannedFilter(admin.SimpleListFilter):
    title = "banned"
    parameter_name = "banned"

    def lookups(self, request: HttpRequest, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet):
        if self.value() == "yes":
            return queryset.filter(ban__isnull=False)
        if self.value() == "no":
            return queryset.filter(ban__isnull=True)
        return queryset


class AccountChangeForm(UserChangeForm):
    def clean_email(self) -> str:
        # The database refuses a second account with an address (accounts.AccountEmail); say
        # so beside the field rather than fail the save.
        email = self.cleaned_data["email"]
        taken = AccountEmail.objects.filter(address=email_key(email)).exclude(user=self.instance)
        if email and taken.exists():
            raise forms.ValidationError("Another account has this email address.")
        return email


admin.site.unregister(User)


@admin.register(User)
class BeebetaUserAdmin(UserAdmin):
    form = AccountChangeForm
    # UserAdmin's columns, then the account's state.
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_staff",
        "is_active",
        "banned",
    )
    list_filter = (BannedFilter, *UserAdmin.list_filter)
    list_select_related = ("ban",)
    inlines = (BanInline,)
    actions = ("ban_selected",)

    @admin.display(boolean=True, description="banned")
    def banned(self, user: User) -> bool:
        return hasattr(user, "ban")

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return services.may_ban(request.user)

    @admin.action(description="Ban selected users", permissions=("ban",))
    def ban_selected(self, request: AuthenticatedHttpRequest, queryset: QuerySet) -> None:
        # Never yourself, and never a superuser: one moderator must not be
        # able to lock out the people who can undo it.
        spared = queryset.filter(Q(is_superuser=True) | Q(pk=request.user.pk))
        banned = 0
        for user in queryset.exclude(pk__in=spared.values("pk")):
            services.ban_user(user=user, by=request.user)
            banned += 1
        if banned:
            self.message_user(
                request,
                ngettext("Banned %d user.", "Banned %d users.", banned) % banned,
                messages.SUCCESS,
            )
        skipped = spared.count()
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %d user: you cannot ban yourself or a superuser.",
                    "Skipped %d users: you cannot ban yourself or a superuser.",
                    skipped,
                )
                % skipped,
                messages.WARNING,
            )


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    """Bans are made with the user action; here they are read, annotated or lifted.

    Deleting a ban lifts it; the account then needs "active" ticked again.
    """

    list_display = ("user", "banned_at", "banned_by", "reason")
    list_select_related = ("user", "banned_by")
    search_fields = ("user__username", "user__email", "reason")
    date_hierarchy = "banned_at"
    fields = ("user", "banned_at", "banned_by", "reason")
    readonly_fields = ("user", "banned_at", "banned_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# --- Other apps' admin actions, each with the permission it needs ---------------------------
# django-axes and django-post-office declare none: any staff member who may only look at
# login attempts or emails could otherwise run them with a crafted POST.

if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)

    @admin.register(AccessAttempt)
    class LoginAttemptAdmin(AccessAttemptAdmin):
        actions = ["cleanup_expired_attempts"]

        @admin.action(description="Clean up expired attempts", permissions=("delete",))
        def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet) -> None:
            # Not django-axes' own: it reads what its middleware sets on log-in requests
            # only, and fails (a 500) on this one.
            threshold = timezone.now() - settings.AXES_COOLOFF_TIME
            count, _ = AccessAttempt.objects.filter(attempt_time__lte=threshold).delete()
            message = ngettext("Removed %d expired attempt.", "Removed %d expired attempts.", count)
            self.message_user(request, message % count, messages.SUCCESS)


admin.site.unregister(Email)


@admin.register(Email)
class OutboxEmailAdmin(EmailAdmin):
    actions = ["requeue"]

    @admin.action(description="Requeue selected emails", permissions=("change",))
    def requeue(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.update(status=STATUS.queued)
