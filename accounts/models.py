"""What Beebeta keeps about accounts beyond Django's User."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Ban(models.Model):
    """A moderator's decision to shut an account out.

    It outlives the User's is_active flag on purpose: django-registration
    activates any inactive account that presents a valid key, and a banned
    account must never come back through an old activation link.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ban"
    )
    reason = models.CharField(max_length=200, blank=True)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    banned_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ban of {self.user_id}"


class LoginSession(models.Model):
    """The session keys of an account, so that all of them can be ended at once
    (a ban, a password reset) without scanning every session."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user_id}"
