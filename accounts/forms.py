from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import User
from django.core import signing
from django.core.validators import MaxLengthValidator
from django_registration import validators
from django_registration.forms import RegistrationForm

from accounts import emails
from accounts.models import Ban

EMAIL_LENGTH = User._meta.get_field("email").max_length
USERNAME_LENGTH = User._meta.get_field("username").max_length
_RESEND_SALT = "accounts.resend-activation"


def check_address(email: str) -> None:
    """The rules every address Beebeta takes follows (sign-up's): HTML5's syntax, no
    confusable characters, no longer than the column."""
    MaxLengthValidator(EMAIL_LENGTH)(email)
    validators.HTML5EmailValidator()(email)
    validators.validate_confusables_email(email)


class _EmailField(forms.EmailField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_LENGTH)
        kwargs.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        super().__init__(**kwargs)
        # As django-registration does: its validators, stricter than Django's on syntax.
        self.validators = [check_address]


class _HeldPickField(forms.CharField):
    """The signed pick of the "Almost there" page (polls/picks.py), carried along."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, widget=forms.HiddenInput, **kwargs)


class _WithinLength:
    """Run ``validator`` only on a value no longer than ``limit``; the field's own length check
    reports a longer one. A database asked to compare 100,000 characters may fail rather than
    answer (SQLite: "LIKE or GLOB pattern too complex")."""

    def __init__(self, validator: Any, limit: int | None) -> None:
        self.validator, self.limit = validator, limit

    def __call__(self, value: str) -> None:
        if self.limit is None or len(value) <= self.limit:
            self.validator(value)


class SignUpForm(RegistrationForm):
    """Username, email and password twice.

    django-registration checks that the username is unused (ignoring case), not reserved or
    confusable, and runs Django's password validators; the password error is shown beside the
    second field. Whether the email address has an account is never said: the sign-up answers
    the same, and the address's owner gets an email (accounts.services.sign_up).
    """

    vote = _HeldPickField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.help_text = "Letters, digits and @ . + - _ only. Shown publicly."
        username.validators = [
            _WithinLength(check, USERNAME_LENGTH)
            if isinstance(check, validators.CaseInsensitiveUnique)
            else check
            for check in username.validators
        ]
        self.fields["email"] = _EmailField(
            label="Email address", help_text="We send the activation link here. Never shown."
        )


class EmailVoteForm(forms.Form):
    email = _EmailField(label="Your email address")
    vote = _HeldPickField()


class LoginForm(auth_forms.AuthenticationForm):
    """Django's log-in form, plus: the right password for an account that waits for
    activation says so (and offers a new link); a wrong one gets the usual message."""

    vote = _HeldPickField()
    NOT_ACTIVATED = (
        "Your account is not activated yet: open the link in the email we sent when you "
        "signed up, or ask for a new one below."
    )

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            waiting = self._waiting_for_activation()
            if waiting is None:
                raise
            self.resend_token = signing.dumps(waiting.get_username(), salt=_RESEND_SALT)
            raise forms.ValidationError(self.NOT_ACTIVATED, code="inactive") from None

    def _waiting_for_activation(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return None
        user = User.objects.filter(**{User.USERNAME_FIELD: username}, is_active=False).first()
        if user is None or Ban.objects.filter(user=user).exists():
            return None
        return user if user.check_password(password) else None


def resend_token_username(token: str) -> str | None:
    """The username of a token the log-in page gave out for a new activation link."""
    try:
        return signing.loads(token, salt=_RESEND_SALT, max_age=3600)
    except signing.BadSignature:
        return None


class _CurrentPasswordMixin(forms.Form):
    current_password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.", code="wrong")
        return password


class ChangeEmailForm(_CurrentPasswordMixin):
    """Whether the new address has an account is never said here: the change waits for a link
    opened at the new address, and when it has an account its owner is told instead."""

    email = _EmailField(label="New email address")

    field_order = ["email", "current_password"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email.casefold() == self.user.email.casefold():
            raise forms.ValidationError("That is already your email address.", code="same")
        return email


class ChangeUsernameForm(forms.Form):
    username = forms.CharField(
        label="New username",
        max_length=USERNAME_LENGTH,
        help_text="Letters, digits and @ . + - _ only. Shown publicly.",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        # The rules of sign-up's username.
        field.validators += [
            *User._meta.get_field("username").validators,
            validators.ReservedNameValidator(validators.DEFAULT_RESERVED_NAMES),
            validators.validate_confusables,
        ]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        taken = User.objects.filter(username__iexact=username).exclude(pk=self.user.pk)
        if taken.exists():
            raise forms.ValidationError(validators.DUPLICATE_USERNAME, code="unique")
        return username


class DeleteAccountForm(_CurrentPasswordMixin):
    pass


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, its email written to the outbox instead of sent in the request."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        emails.send_password_reset(
            to=to_email,
            subject_template=subject_template_name,
            body_template=email_template_name,
            context=context,
        )
