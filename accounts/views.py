from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_registration.backends.activation import REGISTRATION_SALT
from django_registration.backends.activation import views as activation_views
from django_registration.backends.activation.forms import ActivationForm
from django_registration.exceptions import ActivationError

from accounts import emails, reads, services
from accounts.forms import ChangeEmailForm, DeleteAccountForm, SignUpForm
from accounts.models import Ban

User = get_user_model()

# The profile lists the latest of each; the data download has everything.
PROFILE_LIST_LIMIT = 50


# --- Sign-up (django-registration's two-step activation) ------------------------------------


class SignUpView(activation_views.RegistrationView):
    form_class = SignUpForm

    def send_activation_email(self, user) -> None:
        emails.send_activation_email(self.request, user)


@require_GET
def registration_complete(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "django_registration/registration_complete.html",
        {"expiration_days": settings.ACCOUNT_ACTIVATION_DAYS},
    )


class ActivationView(activation_views.ActivationView):
    """The link shows a button; the POST activates, unless a moderator closed
    the account: a ban outlives is_active, so an old link cannot undo it."""

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
        return super().activate(form)


@require_POST
def resend_activation(request: HttpRequest) -> HttpResponse:
    """A new link for an expired one.

    The old key's signature still proves it came from our email, so it is
    read without an age limit; the new link goes to the account's address
    only, and only while the account waits for activation.
    """
    try:
        username = signing.loads(request.POST.get("activation_key", ""), salt=REGISTRATION_SALT)
    except signing.BadSignature:
        messages.error(request, "That activation link is not valid.")
        return redirect("django_registration_activate")
    user = User.objects.filter(
        **{User.USERNAME_FIELD: username}, is_active=False, ban__isnull=True
    ).first()
    if user is not None:
        emails.send_activation_email(request, user)
    return redirect("django_registration_complete")


# --- Passwords --------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        # Django keeps this session (under a new key) and the session hash
        # shuts the others out; ending them also removes their rows.
        response = super().form_valid(form)
        key = self.request.session.session_key
        services.end_sessions(user=form.user, keep=key)
        services.track_session(user=form.user, session_key=key)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Answers the same whether or not the address is known."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, int]:
        return {"valid_seconds": settings.PASSWORD_RESET_TIMEOUT}


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
def profile(request: HttpRequest) -> HttpResponse:
    questions = list(reads.my_questions(request.user)[: PROFILE_LIST_LIMIT + 1])
    ballots = list(reads.my_ballots(request.user)[: PROFILE_LIST_LIMIT + 1])
    return render(
        request,
        "accounts/profile.html",
        {
            "questions": questions[:PROFILE_LIST_LIMIT],
            "more_questions": len(questions) > PROFILE_LIST_LIMIT,
            "ballots": ballots[:PROFILE_LIST_LIMIT],
            "more_ballots": len(ballots) > PROFILE_LIST_LIMIT,
            "limit": PROFILE_LIST_LIMIT,
        },
    )


@never_cache
@login_required
@require_GET
def profile_data(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(reads.personal_data(request.user), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="beebeta-my-data.json"'
    return response


@login_required
def change_email(request: HttpRequest) -> HttpResponse:
    form = ChangeEmailForm(request.POST or None, user=request.user)
    if form.is_valid():
        user, old_email = request.user, request.user.email
        user.email = form.cleaned_data["email"]
        user.save(update_fields=["email"])
        if old_email:
            emails.send_email_changed_notice(request, user, old_email=old_email)
        messages.success(request, f"Your email address is now {user.email}.")
        return redirect("accounts:profile")
    return render(request, "accounts/change_email.html", {"form": form})


@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
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
