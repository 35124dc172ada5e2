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


def email_key(email: str) -> str:
    """The form of an address that decides whether two addresses are the same account's."""
    return email.strip().lower()


class AccountEmail(models.Model):
    """One account per email address, whatever its letter case, enforced by the database.

    Django's User keeps the address as typed, with no unique index; this row holds it in lower
    case under one. It is written with every save of a User that may have changed its address
    (accounts.signals), in the same transaction, so of two sign-ups racing with one address the
    second fails at the database and rolls back whole. An account without an address has none.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_key"
    )
    # Lower case can be longer than the address (a few letters grow): room beyond its 254.
    address = models.CharField(max_length=320, unique=True)

    def __str__(self) -> str:
        return f"email of {self.user_id}"


class HeldVote(models.Model):
    """A vote that waits for its voter to confirm an email address.

    Made by sign-up and by voting with an email address, in the database rather than the
    browser's session because the link is often opened on another device. Confirming casts it
    through polls.services.cast_vote, like any vote; unconfirmed, it is never counted, and
    `manage.py clear_held_votes` removes it after HELD_VOTE_HOURS.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="held_votes"
    )
    question = models.ForeignKey("polls.Question", on_delete=models.CASCADE, related_name="+")
    choice_ids = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"held vote of {self.user_id} on {self.question_id}"

    def picked(self) -> list[str]:
        """The texts of the held choices, in the question's order (one query)."""
        choices = self.question.choices.filter(pk__in=self.choice_ids).order_by("position")
        return list(choices.values_list("text", flat=True))


class EmailLink(models.Model):
    """A link sent by email that works once, until it expires.

    Only a digest of its token is kept, so the table alone opens nothing. Using it marks it
    used in one conditional UPDATE, so of two clicks at once exactly one gets through.
    """

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", "sign in (and confirm the address)"
        CHANGE_EMAIL = "change_email", "confirm a new email address"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_links"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    token_digest = models.CharField(max_length=64, unique=True)
    # The address a CHANGE_EMAIL link moves the account to.
    new_email = models.EmailField(blank=True)
    # Where the person lands afterwards (the question of their held vote).
    question = models.ForeignKey(
        "polls.Question", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.purpose} link of {self.user_id}"
