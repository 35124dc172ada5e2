"""Who a visitor is: anonymous, a new account or an established one.

One definition for analytics and insights. Mixpanel events carry the group of the visitor as
they are now (beebeta.analytics); the insights count views and first votes per group as the
account was at that moment (polls.insights.counting): in Python for a view as it is counted,
and in SQL for the first votes copied from the vote tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.db.models import BooleanField, Case, Q, Value, When
from django.db.models.expressions import Combinable
from django.utils import timezone

# An account is "new" for this long after it signs up.
NEW_ACCOUNT_AGE = timedelta(days=30)


class UserGroup(models.TextChoices):
    ANONYMOUS = "anonymous", "Anonymous visitors"
    NEW = "new", f"New accounts (under {NEW_ACCOUNT_AGE.days} days)"
    ESTABLISHED = "established", "Established accounts"


def user_group(user: Any, now: datetime | None = None) -> str:
    """The group of ``user`` (None or anonymous: anonymous) at ``now`` (default: now)."""
    if user is None or not user.is_authenticated:
        return UserGroup.ANONYMOUS.value
    joined = getattr(user, "date_joined", None)
    if joined is not None and (now or timezone.now()) - joined < NEW_ACCOUNT_AGE:
        return UserGroup.NEW.value
    return UserGroup.ESTABLISHED.value


def joined_recently(*, joined: str, at: Combinable, age: timedelta = NEW_ACCOUNT_AGE) -> Q:
    """The SQL form: rows whose account (its join time in the field path ``joined``) was still
    new at ``at``, an expression such as F("created_at"); younger than ``age`` if given (the
    integrity signals look at accounts under a week old)."""
    return Q(**{f"{joined}__gt": at - age})


def joined_recently_column(
    *, joined: str, at: Combinable, age: timedelta = NEW_ACCOUNT_AGE
) -> Case:
    """``joined_recently`` as a column of the query: True or False for each row."""
    return Case(
        When(joined_recently(joined=joined, at=at, age=age), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
