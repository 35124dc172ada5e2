"""Remember which sessions belong to whom, so they can all be ended at once."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django_registration.signals import user_activated, user_registered

from accounts.models import LoginSession
from accounts.services import track_session
from beebeta import analytics


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


# Site traffic for Mixpanel: under the account's id from the first event on.
@receiver(user_registered)
def track_sign_up(sender, user, request, **kwargs) -> None:
    analytics.track(request, "Signed Up", user=user)


@receiver(user_activated)
def track_activation(sender, user, request, **kwargs) -> None:
    analytics.track(request, "Account Activated", user=user)


@receiver(user_logged_in)
def track_login(sender, request, user, **kwargs) -> None:
    analytics.track(request, "Logged In", user=user)
