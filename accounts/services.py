"""Writes about accounts that touch several models: banning, ending sessions."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.db import transaction

from accounts.models import Ban, LoginSession


def end_sessions(*, user) -> int:
    """Log ``user`` out everywhere, now: delete every session they hold."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(LoginSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        # Deleting through the store drops the cached copy as well as the row.
        store(session_key=key).delete()
    LoginSession.objects.filter(user=user).delete()
    return len(keys)


def ban_user(*, user, by=None, reason: str = "") -> None:
    """Deactivate ``user`` for good and end all of their sessions."""
    with transaction.atomic():
        Ban.objects.update_or_create(user=user, defaults={"banned_by": by, "reason": reason})
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
    end_sessions(user=user)


def is_banned(user) -> bool:
    return Ban.objects.filter(user=user).exists()
