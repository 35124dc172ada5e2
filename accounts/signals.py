"""Remember which sessions belong to whom, so they can all be ended at once."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from accounts.models import LoginSession
from accounts.services import track_session


@receiver(user_logged_in)
def remember_session(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    if session.session_key is None:
        session.save()
    track_session(user=user, session_key=session.session_key)


@receiver(user_logged_out)
def forget_session(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        LoginSession.objects.filter(session_key=session.session_key).delete()
