"""Writes about accounts that touch several models: banning, ending sessions,
closing an account."""

from __future__ import annotations

from importlib import import_module

from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.db import transaction

from accounts.models import Ban, LoginSession


def track_session(*, user, session_key: str) -> None:
    """Remember that ``session_key`` belongs to ``user``, so it can be ended."""
    LoginSession.objects.get_or_create(session_key=session_key, defaults={"user": user})


def end_sessions(*, user, keep: str | None = None) -> int:
    """Log ``user`` out everywhere, now: delete every session they hold but ``keep``."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    tracked = LoginSession.objects.filter(user=user)
    if keep:
        tracked = tracked.exclude(session_key=keep)
    keys = list(tracked.values_list("session_key", flat=True))
    for key in keys:
        # Deleting through the store drops the cached copy as well as the row.
        store(session_key=key).delete()
    LoginSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


def ban_user(*, user, by=None, reason: str = "") -> None:
    """Deactivate ``user`` for good and end all of their sessions."""
    record_ban(user=user, by=by, reason=reason)
    # After the commit: a request could otherwise cache a session again from its row.
    end_sessions(user=user)


def record_ban(*, user, by=None, reason: str = "") -> None:
    """The ban's rows alone, in one transaction (or the caller's): whoever calls it
    ends the user's sessions (end_sessions) once that has committed."""
    with transaction.atomic():
        Ban.objects.update_or_create(user=user, defaults={"banned_by": by, "reason": reason})
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])


def password_was_reset(*, user) -> None:
    """Whoever held the old password is out: end every session of ``user``.

    The reset proved control of the mailbox, so the failed logins counted
    against this username are forgiven too; the lockout page sends people
    here, and a reset that still left them locked out would be a dead end.
    """
    end_sessions(user=user)
    reset_login_failures(username=user.get_username())


def delete_account(*, user) -> None:
    """End every session of ``user``, then delete them.

    Deleting the user withdraws their votes (polls' pre_delete signal) and
    leaves their questions with no author.
    """
    end_sessions(user=user)
    user.delete()
