"""What the login lockout (django-axes) keeps about people, and for how long.

Only failed logins are recorded (the access log of every successful one is off), and each row
only for as long as it can lock anyone out: ``LOGIN_COOLOFF_MINUTES`` after its latest failure.
``prune_login_records`` removes older rows on a timer (django-axes itself also removes them
when someone logs in); a deleted account's rows go with it; the data download shows a person
the rows kept under their username.
"""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.utils import timezone


def prune() -> int:
    """Remove every row the lockout no longer needs; how many were removed."""
    threshold = timezone.now() - settings.AXES_COOLOFF_TIME
    removed, _ = AccessAttempt.objects.filter(attempt_time__lt=threshold).delete()
    # Logs Beebeta does not keep (any left from before they were turned off).
    for log in (AccessLog, AccessFailureLog):
        count, _ = log.objects.all().delete()
        removed += count
    return removed


def forget(username: str) -> None:
    """Remove every row about ``username`` (their account is being deleted)."""
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(username=username).delete()


def of(username: str) -> list[dict[str, Any]]:
    """The failed logins kept under ``username``, for its data download."""
    attempts = AccessAttempt.objects.filter(username=username).order_by("-attempt_time")
    return [
        {
            "last_failure": attempt.attempt_time,
            "failures": attempt.failures_since_start,
            "ip_address": attempt.ip_address,
            "user_agent": attempt.user_agent,
        }
        for attempt in attempts
    ]
