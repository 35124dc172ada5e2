from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_registration import signals, validators
from django_registration.backends.activation import REGISTRATION_SALT
from django_registration.backends.activation import views as activation_views
from django_registration.backends.activation.forms import ActivationForm
from django_registration.exceptions import ActivationError

from accounts import emails, reads, services, throttles
from accounts.forms import (
    ChangeEmailForm,
    ChangeUsernameForm,
    DeleteAccountForm,
    LoginForm,
    PasswordResetForm,
    SignUpForm,
    resend_token_username,
)
from accounts.models import Ban, EmailLink
from beebeta.request_types import AuthenticatedHttpRequest
from polls import picks

# --- Held votes: cast once the person is known ----------------------------------------------


def _log_in(request: HttpRequest, user: User) -> None:
    # The account has just proved itself by a link: no password to check, so name the backend.
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")


def _cast_pick(request: HttpRequest, user: User, pick: picks.Pick) -> HttpResponse:
    """Cast ``pick`` for ``user``, whom ``request`` was just logged in as."""
    cast = picks.cast(request, user=user, question=pick.question, choice_ids=pick.choice_ids)
    (messages.success if cast.counted else messages.error)(request, cast.message)
    return redirect(pick.question)


def _cast_held_votes(request: HttpRequest, user: User) -> HttpResponse | None:
    """Cast the votes held for ``user``, just logged in; land on the last one's question
    (None when there was none)."""
    landing = None
    for held in services.claim_held_votes(user=user):
        pick = picks.Pick(question=held.question, choice_ids=tuple(held.choice_ids))
        landing = _cast_pick(request, user, pick)
    return landing


def _pick_in(request: HttpRequest) -> picks.Pick | None:
    return picks.from_token(_pick_token(request))


def _pick_token(request: HttpRequest) -> str:
    return request.POST.get("vote") or request.GET.get("vote") or ""


def _held_pick(request: HttpRequest) -> picks.Pick | None:
    """The pick a form carried, or None; a pick that can no longer be cast is said so."""
    pick = _pick_in(request)
    if pick is None and _pick_token(request):
        messages.error(request, picks.PICK_LOST)
    return pick


class _CarriesPick:
    """A form view that carries the pick of "Almost there" (``?vote=``) in a hidden field and
    names it at the top of its page."""

    request: HttpRequest

    def get_initial(self) -> dict[str, Any]:
        return {"vote": self.request.GET.get("vote", "")}

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        # A mixin: get_context_data is the form view's it is mixed into, which mypy cannot see.
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["pick"] = _pick_in(self.request)
        return context


# --- Sign-up (django-registration's two-step activation) ------------------------------------


class SignUpView(_CarriesPick, activation_views.RegistrationView):
    """Sign-up, with the pick of "Almost there" when it came from there (``?vote=``): it is
    held in the database with the new account, so the activation link casts it on whatever
    device it is opened."""

    form_class = SignUpForm

    def form_valid(self, form: SignUpForm) -> HttpResponse:
        email = form.cleaned_data["email"]
        refused = throttles.refuse(self.request, action=throttles.SIGN_UP, email=email)
        if refused:
            return refused
        user = form.save(commit=False)
        try:
            created = services.sign_up(
                user=user, pick=_held_pick(self.request), site=emails.site_of(self.request)
            )
        except IntegrityError:
            form.add_error(None, services.RACE_MESSAGE)
            return self.form_invalid(form)
        if created:
            signals.user_registered.send(sender=self.__class__, user=user, request=self.request)
        # The same answer whether the address had an account or not.
        return redirect("django_registration_complete")


@require_GET
def registration_complete(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "django_registration/registration_complete.html",
        {"expiration_days": settings.ACCOUNT_ACTIVATION_DAYS},
    )


class ActivationView(activation_views.ActivationView):
    """The link shows a button; the POST activates, unless a moderator closed
    the account: a ban outlives is_active, so an old link cannot undo it.

    Activating logs the person in and casts the votes held for the account, landing on the
    question (the activation page otherwise)."""

    BANNED_MESSAGE = "This account has been closed by the moderators."

    def get_template_names(self) -> list[str]:
        # A POST that activates redirects, so a POST that renders has failed.
        if self.request.method == "POST":
            return ["django_registration/activation_failed.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = context["form"]
        # "expired", "invalid_key" or "required"; the codes of ActivationError
        # ("already_activated", "bad_username", "banned") come separately, in
        # activation_error.
        context["failure"] = (
            form.errors.as_data()["activation_key"][0].code if form.is_bound and form.errors else ""
        )
        context["expiration_days"] = settings.ACCOUNT_ACTIVATION_DAYS
        return context

    def activate(self, form: ActivationForm):
        username = form.cleaned_data["activation_key"]
        if Ban.objects.filter(**{f"user__{User.USERNAME_FIELD}": username}).exists():
            raise ActivationError(self.BANNED_MESSAGE, code="banned")
        user = super().activate(form)
        _log_in(self.request, user)
        self.landing = _cast_held_votes(self.request, user)
        return user

    def get_success_url(self, user=None) -> str:
        landing = getattr(self, "landing", None)
        return landing["Location"] if landing is not None else super().get_success_url(user)


@require_POST
def resend_activation(request: HttpRequest) -> HttpResponse:
    """A new link for an expired one, or for an account the log-in page found waiting.

    The old key's signature still proves it came from our email, so it is read without an age
    limit (the log-in page's token proves the password); the new link goes to the account's
    address only, and only while the account waits for activation.
    """
    username = resend_token_username(request.POST.get("resend", ""))
    if username is None:
        try:
            username = signing.loads(request.POST.get("activation_key", ""), salt=REGISTRATION_SALT)
        except signing.BadSignature:
            messages.error(request, "That activation link is not valid.")
            return redirect("django_registration_activate")
    user = User.objects.filter(
        **{User.USERNAME_FIELD: username}, is_active=False, ban__isnull=True
    ).first()
    if user is not None:
        refused = throttles.refuse(
            request, action=throttles.RESEND, email=user.email, account_id=user.pk
        )
        if refused:
            return refused
        emails.send_activation_email(site=emails.site_of(request), user=user)
    return redirect("django_registration_complete")


# --- Log in, and links sent by email ---------------------------------------------------------


class LoginView(_CarriesPick, auth_views.LoginView):
    """Django's log-in, which casts the pick of "Almost there" (``?vote=``) once logged in,
    and says so at the top ("Log in to vote on ...")."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True
    form_class = LoginForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        pick = _held_pick(self.request)
        return _cast_pick(self.request, form.get_user(), pick) if pick is not None else response


@never_cache
@require_GET
def check_email(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/check_email.html", {"minutes": settings.EMAIL_LINK_MINUTES})


@never_cache
@require_http_methods(["GET", "POST"])
def email_link(request: HttpRequest, token: str) -> HttpResponse:
    """A link from an email: GET shows what it will do and a button (mail scanners open
    links, and must not use them up); POST uses it, once."""
    try:
        link = (
            services.find_link(token) if request.method == "GET" else services.use_link(token=token)
        )
    except services.LinkRefused as refused:
        return _link_refused(request, refused)
    if request.method == "GET":
        held = list(link.user.held_votes.select_related("question").order_by("-created_at"))
        context = {"link": link, "held": held, "minutes": settings.EMAIL_LINK_MINUTES}
        return render(request, "accounts/email_link.html", context)
    if link.purpose == EmailLink.Purpose.CHANGE_EMAIL:
        messages.success(request, f"Your email address is now {link.new_email}.")
        return redirect("accounts:profile" if request.user == link.user else "polls:home")
    _log_in(request, link.user)
    landing = _cast_held_votes(request, link.user)
    if landing is not None:
        return landing
    messages.success(request, f"You are logged in as {link.user.get_username()}.")
    return redirect(link.question if link.question is not None else "polls:home")


def _link_refused(request: HttpRequest, refused: services.LinkRefused) -> HttpResponse:
    context = {"code": refused.code, "link": refused.link, "minutes": settings.EMAIL_LINK_MINUTES}
    # 410 Gone for a link that worked once; 400 for one that never will.
    status = 410 if refused.code in ("used", "expired") else 400
    return render(request, "accounts/email_link_failed.html", context, status=status)


@require_POST
def email_link_again(request: HttpRequest, token: str) -> HttpResponse:
    """A fresh link in place of an expired one, to the same address."""
    try:
        services.find_link(token)
    except services.LinkRefused as refused:
        link = refused.link
        if refused.code != "expired" or link is None:
            return _link_refused(request, refused)
        email = link.new_email or link.user.email
        limited = throttles.refuse(
            request, action=throttles.RESEND, email=email, account_id=link.user_id
        )
        if limited:
            return limited
        services.renew_link(link=link, site=emails.site_of(request))
        return redirect("accounts:check_email")
    # Still valid: nothing to renew.
    return redirect("accounts:email_link", token=token)


# --- Passwords --------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        # Django keeps this session (under a new key) and the session hash
        # shuts the others out; ending them also removes their rows.
        response = super().form_valid(form)
        key = self.request.session.session_key
        services.end_sessions(user=form.user, keep=key)
        if key is not None:  # saved under its new key by the form_valid above
            services.track_session(user=form.user, session_key=key)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Answers the same whether or not the address is known; the email goes to the outbox."""

    form_class = PasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, int]:
        return {"valid_seconds": settings.PASSWORD_RESET_TIMEOUT}

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        email = form.cleaned_data["email"]
        refused = throttles.refuse(self.request, action=throttles.PASSWORD_RESET, email=email)
        return refused or super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_was_reset(user=form.user)
        return response


# --- Profile ----------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", reads.profile_lists(request.user))


@never_cache
@login_required
@require_GET
def profile_data(request: AuthenticatedHttpRequest) -> HttpResponse:
    response = JsonResponse(reads.personal_data(request.user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="beebeta-my-data.json"'
    return response


@login_required
def change_email(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ChangeEmailForm(request.POST or None, user=request.user)
    if form.is_valid():
        new_email = form.cleaned_data["email"]
        refused = throttles.refuse(
            request, action=throttles.CHANGE_EMAIL, email=new_email, account_id=request.user.pk
        )
        if refused:
            return refused
        services.request_email_change(
            user=request.user, new_email=new_email, site=emails.site_of(request)
        )
        # The same whether the address has an account or not.
        messages.success(
            request,
            f"We have sent a link to {new_email}. Your address changes when you open it "
            f"(within {settings.EMAIL_LINK_MINUTES} minutes).",
        )
        return redirect("accounts:profile")
    return render(request, "accounts/change_email.html", {"form": form})


@login_required
def change_username(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ChangeUsernameForm(request.POST or None, user=request.user)
    if form.is_valid():
        if services.change_username(user=request.user, username=form.cleaned_data["username"]):
            messages.success(request, f"Your username is now {request.user.get_username()}.")
            return redirect("accounts:profile")
        form.add_error("username", validators.DUPLICATE_USERNAME)
    return render(request, "accounts/change_username.html", {"form": form})


@login_required
def delete_account(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if form.is_valid():
        services.delete_account(user=request.user)
        logout(request)
        messages.success(
            request,
            "Your account is deleted and your votes are withdrawn. "
            "Your questions stay, asked by “a former member”.",
        )
        return redirect("polls:home")
    return render(request, "accounts/delete_account.html", {"form": form})
