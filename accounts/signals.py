"""Remember which sessions belong to whom, so they can all be ended at once; keep each
account's address under the database's one-account-per-address index."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver
from django_registration.signals import user_activated, user_registered

from accounts import login_records
from accounts.models import LoginSession
from accounts.services import record_email, track_session
from accounts.session_user import forget_user
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


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def keep_email_key(sender, instance, created, update_fields, raw, **kwargs) -> None:
    # A save that names its fields and leaves out the address (a login's last_login) costs
    # nothing here.
    if raw or (update_fields is not None and "email" not in update_fields):
        return
    record_email(user=instance, new=created)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def forget_cached_account(sender, instance, raw=False, **kwargs) -> None:
    # The signed-in visitor's cached account (accounts/session_user.py): a ban, a new password,
    # any edit applies from the next request on.
    if not raw:
        forget_user(instance.pk)


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


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def forget_failed_logins(sender, instance, **kwargs) -> None:
    # However the account goes (its owner, or the admin), the lockout's rows about it go too.
    login_records.forget(instance.get_username())
