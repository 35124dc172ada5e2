"""Writes about accounts that touch several models: banning, ending sessions, closing an
account, one account per address, sign-up, votes held for an email address and the links that
confirm them.

Emails are written to the outbox (accounts/emails.py) inside the same transaction as the rows
they are about, so a message exists exactly when its account, held vote or link does.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Sequence
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING

from axes.utils import reset as reset_login_failures
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from accounts import emails
from accounts.models import AccountEmail, Ban, EmailLink, HeldVote, LoginSession, email_key

if TYPE_CHECKING:
    from polls.models import Question
    from polls.picks import Pick

logger = logging.getLogger(__name__)


def track_session(*, user: User, session_key: str) -> None:
    """Remember that ``session_key`` belongs to ``user``, so it can be ended."""
    LoginSession.objects.get_or_create(session_key=session_key, defaults={"user": user})


def end_sessions(*, user: User, keep: str | None = None) -> int:
    """Log ``user`` out everywhere, now: delete every session they hold but ``keep``."""
    tracked = LoginSession.objects.filter(user=user)
    if keep:
        tracked = tracked.exclude(session_key=keep)
    keys = list(tracked.values_list("session_key", flat=True))
    _end_sessions_by_key(keys)
    return len(keys)


def _end_sessions_by_key(keys: list[str]) -> None:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        # Deleting through the store drops the cached copy as well as the row.
        store(session_key=key).delete()
    LoginSession.objects.filter(session_key__in=keys).delete()


def ban_user(*, user: User, by: User | None = None, reason: str = "") -> None:
    """Deactivate ``user`` for good and end all of their sessions."""
    record_ban(user=user, by=by, reason=reason)
    # After the commit: a request could otherwise cache a session again from its row.
    end_sessions(user=user)


def record_ban(*, user: User, by: User | None = None, reason: str = "") -> None:
    """The ban's rows alone, in one transaction (or the caller's): whoever calls it
    ends the user's sessions (end_sessions) once that has committed."""
    with transaction.atomic():
        Ban.objects.update_or_create(user=user, defaults={"banned_by": by, "reason": reason})
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])


def password_was_reset(*, user: User) -> None:
    """Whoever held the old password is out: end every session of ``user``.

    The reset proved control of the mailbox, so the failed logins counted
    against this username are forgiven too; the lockout page sends people
    here, and a reset that still left them locked out would be a dead end.
    """
    end_sessions(user=user)
    reset_login_failures(username=user.get_username())


def change_username(*, user: User, username: str) -> bool:
    """Rename ``user``; False, with ``user`` left as it was, when another account took the name
    since the form checked it (the database's unique index decides)."""
    old = user.username
    user.username = username
    try:
        with transaction.atomic():
            user.save(update_fields=["username"])
    except IntegrityError:
        # The page that says so shows the name the account still has.
        user.username = old
        return False
    return True


# Banning makes a Ban row: whoever may add one may ban (the Moderators group may; see
# accounts/migrations/0003_moderators_group.py).
BAN_PERMISSION = "accounts.add_ban"


def may_ban(user) -> bool:
    return user.has_perm(BAN_PERMISSION)


# MySQL's "run the transaction again" errors: a lock wait timeout, a deadlock.
_RETRYABLE_MYSQL_ERRORS = {1205, 1213}
_DELETE_ATTEMPTS = 8
# Between attempts, a pause of up to this many seconds times the attempt's number, at random:
# two deletions that deadlocked each other do not meet again at once.
_DELETE_BACKOFF_SECONDS = 0.02


def delete_account(*, user: User) -> None:
    """Delete ``user``, then end every session they had.

    Deleting the user withdraws their votes (polls' pre_delete signal) and leaves their
    questions with no author. The account's row is locked first, in the same transaction: a
    vote that would add a ballot for it waits on that lock (MySQL checks the foreign key) and
    is refused once the account is gone, so no ballot appears between Django collecting the
    account's rows and deleting them. A deadlock with a vote rolls everything back, and the
    deletion runs again; the sessions end only once it has committed.
    """
    for attempt in range(1, _DELETE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                locked = User.objects.select_for_update().filter(pk=user.pk)
                if not list(locked.values_list("pk", flat=True)):
                    return  # deleted already (another tab)
                keys = list(
                    LoginSession.objects.filter(user=user).values_list("session_key", flat=True)
                )
                user.delete()
            break
        except OperationalError as exc:
            if exc.args and exc.args[0] in _RETRYABLE_MYSQL_ERRORS and attempt < _DELETE_ATTEMPTS:
                logger.info("account deletion retried after MySQL error %s", exc.args[0])
                time.sleep(_DELETE_BACKOFF_SECONDS * attempt * secrets.randbelow(1000) / 1000)
                continue
            raise
    _end_sessions_by_key(keys)


# --- One account per address ---------------------------------------------------------------


def record_email(*, user: User, new: bool = False) -> None:
    """Keep ``user``'s AccountEmail equal to their address (accounts.signals, on every save
    that may change it). Raises IntegrityError when another account has the address: inside
    the caller's transaction, which then rolls back whole."""
    address = email_key(user.email or "")
    if not address:
        if not new:
            AccountEmail.objects.filter(user=user).delete()
    elif new or not AccountEmail.objects.filter(user=user).update(address=address):
        AccountEmail.objects.create(user=user, address=address)


def account_with_email(email: str) -> User | None:
    """The account that has ``email`` (whatever its letter case), or None."""
    return User.objects.select_related("ban").filter(email_key__address=email_key(email)).first()


def is_banned(user: User) -> bool:
    return hasattr(user, "ban")


# Two requests made an account for one address (or one username) at the same moment: the
# database let one through. The other is told to send the form again, which then gets the
# answer an existing address gets; nothing says the address has an account.
RACE_MESSAGE = "Something changed while we saved this: please send the form again."


# --- Held votes and emailed links ----------------------------------------------------------


def hold_vote(*, user: User, question: Question, choice_ids: Sequence[int]) -> HeldVote:
    return HeldVote.objects.create(user=user, question=question, choice_ids=list(choice_ids))


def claim_held_votes(*, user: User) -> list[HeldVote]:
    """Take ``user``'s held votes for casting, the latest per question (two tabs or devices:
    the last pick wins), oldest first. Each is deleted as it is claimed, so when two links are
    opened at once each held vote goes to exactly one of them; the older picks are dropped."""
    latest: dict[int, HeldVote] = {}
    for held in HeldVote.objects.filter(user=user).order_by("created_at", "pk"):
        latest[held.question_id] = held
    claimed = [held for held in latest.values() if HeldVote.objects.filter(pk=held.pk).delete()[0]]
    HeldVote.objects.filter(user=user, created_at__lte=timezone.now()).exclude(
        pk__in=[held.pk for held in latest.values()]
    ).delete()
    return claimed


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_link(
    *, user: User, purpose: str, question: Question | None = None, new_email: str = ""
) -> str:
    """A new one-time link for ``user``; the token to put in its address (only its digest is
    stored)."""
    token = secrets.token_urlsafe(32)
    EmailLink.objects.create(
        user=user,
        purpose=purpose,
        token_digest=_digest(token),
        question=question,
        new_email=new_email,
        expires_at=timezone.now() + timedelta(minutes=settings.EMAIL_LINK_MINUTES),
    )
    return token


class LinkRefused(Exception):
    """The link cannot be used; ``code`` says why (the page explains what to do next)."""

    def __init__(self, code: str, link: EmailLink | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.link = link


def find_link(token: str) -> EmailLink:
    """The link of ``token`` if it can still be used; else LinkRefused with code "invalid"
    (unknown or altered), "used", "expired", "staff" or "banned"."""
    link = (
        EmailLink.objects.select_related("user", "user__ban", "question")
        .filter(token_digest=_digest(token))
        .first()
    )
    if link is None:
        raise LinkRefused("invalid")
    if link.used_at is not None:
        raise LinkRefused("used", link)
    if link.expires_at <= timezone.now():
        raise LinkRefused("expired", link)
    if is_banned(link.user):
        raise LinkRefused("banned", link)
    if link.purpose == EmailLink.Purpose.SIGN_IN and (link.user.is_staff or link.user.is_superuser):
        # Staff sign in with their password, never by a link in an email.
        raise LinkRefused("staff", link)
    return link


def use_link(*, token: str) -> EmailLink:
    """Use the link of ``token`` once: a sign-in link activates its account (the address is
    confirmed); a change link moves the account to its new address. LinkRefused as find_link,
    and "taken" when the new address got an account meanwhile."""
    link = find_link(token)
    user = link.user
    with transaction.atomic():
        if not EmailLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        ):
            raise LinkRefused("used", link)
        if link.purpose == EmailLink.Purpose.SIGN_IN and not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
        elif link.purpose == EmailLink.Purpose.CHANGE_EMAIL:
            old_email, user.email = user.email, link.new_email
            try:
                with transaction.atomic():
                    user.save(update_fields=["email"])
            except IntegrityError:
                raise LinkRefused("taken", link) from None
            if old_email:
                emails.send_email_changed_notice(user=user, old_email=old_email)
    return link


def renew_link(*, link: EmailLink, site: str) -> None:
    """A fresh link in place of an expired one, to the same address."""
    user = link.user
    with transaction.atomic():
        token = make_link(
            user=user, purpose=link.purpose, question=link.question, new_email=link.new_email
        )
        if link.purpose == EmailLink.Purpose.CHANGE_EMAIL:
            emails.send_email_change_link(
                site=site, user=user, new_email=link.new_email, token=token
            )
        else:
            emails.send_sign_in_link(
                site=site,
                user=user,
                token=token,
                question=link.question,
                new_account=_named_by_beebeta(user),
            )


# --- Sign-up, email votes, email changes ---------------------------------------------------


def _sign_in_link_for(*, owner: User, pick: Pick | None = None) -> str | None:
    """Hold ``pick`` for an existing account and make it a one-time sign-in link; None for a
    staff account, which signs in with its password only."""
    if owner.is_staff or owner.is_superuser:
        return None
    question = _hold(owner, pick)
    return make_link(user=owner, purpose=EmailLink.Purpose.SIGN_IN, question=question)


def _named_by_beebeta(user: User) -> bool:
    """An account an email vote made, which has not been used yet: its email says its name."""
    return user.last_login is None and not user.has_usable_password()


def _hold(user: User, pick: Pick | None) -> Question | None:
    """Hold ``pick``, if any, for ``user``; its question."""
    if pick is None:
        return None
    hold_vote(user=user, question=pick.question, choice_ids=pick.choice_ids)
    return pick.question


def sign_up(*, user: User, pick: Pick | None = None, site: str) -> bool:
    """Register ``user`` (unsaved, from the sign-up form) inactive, with their held vote and
    the activation email, in one transaction. When the address already has an account, make
    none: its owner gets an email instead (a sign-in link that casts the held vote). True when
    an account was made.

    Raises IntegrityError when another request took the address or username meanwhile.
    """
    with transaction.atomic():
        owner = account_with_email(user.email)
        if owner is not None:
            if not is_banned(owner):
                token = _sign_in_link_for(owner=owner, pick=pick)
                emails.send_already_registered(site=site, user=owner, token=token)
            return False
        user.is_active = False
        user.save()
        question = _hold(user, pick)
        emails.send_activation_email(site=site, user=user, question=question)
    return True


def vote_by_email(*, email: str, pick: Pick, site: str) -> None:
    """Hold ``pick`` for the account of ``email`` and send it a one-time link; a new address
    gets a new account (inactive, no password, a name it can change). Whoever owns the address,
    the person who asked sees the same answer.

    Raises IntegrityError when another request made an account for the address meanwhile.
    """
    with transaction.atomic():
        owner = account_with_email(email)
        if owner is None:
            owner = User(username=_free_username(), email=email, is_active=False)
            owner.set_unusable_password()
            owner.save()
        elif is_banned(owner):
            return
        token = _sign_in_link_for(owner=owner, pick=pick)
        if token is None:
            emails.send_staff_password_notice(site=site, user=owner, question=pick.question)
            return
        emails.send_sign_in_link(
            site=site,
            user=owner,
            token=token,
            question=pick.question,
            new_account=_named_by_beebeta(owner),
        )


def _free_username() -> str:
    """A public name for an account made by an email vote; never anything of the address."""
    for _ in range(10):
        name = f"voter-{secrets.token_hex(4)}"
        if not User.objects.filter(username__iexact=name).exists():
            return name
    raise RuntimeError("no free username after 10 tries")


def request_email_change(*, user: User, new_email: str, site: str) -> None:
    """Send a link that moves ``user`` to ``new_email`` once opened there; when that address
    has an account already, its owner is told instead, and the one who asked sees the same."""
    with transaction.atomic():
        if account_with_email(new_email) is not None:
            emails.send_address_in_use(site=site, to=new_email)
            return
        token = make_link(user=user, purpose=EmailLink.Purpose.CHANGE_EMAIL, new_email=new_email)
        emails.send_email_change_link(site=site, user=user, new_email=new_email, token=token)


def clear_held_votes(*, now=None) -> tuple[int, int]:
    """Remove held votes older than HELD_VOTE_HOURS (never counted) and links that expired
    over a day ago; (held votes, links) removed."""
    now = now or timezone.now()
    held, _ = HeldVote.objects.filter(
        created_at__lt=now - timedelta(hours=settings.HELD_VOTE_HOURS)
    ).delete()
    links, _ = EmailLink.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return held, links
