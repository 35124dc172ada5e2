from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django_registration import validators
from django_registration.forms import RegistrationFormUniqueEmail

User = get_user_model()


class SignUpForm(RegistrationFormUniqueEmail):
    """Username, email and password twice.

    django-registration already checks that the username and the email are
    unused (ignoring case), not reserved or confusable, and runs Django's
    password validators; the password error is shown beside the second field.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = "Letters, digits and @ . + - _ only. Shown publicly."
        self.fields["email"].help_text = "We send the activation link here. Never shown."


class _CurrentPasswordMixin(forms.Form):
    current_password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        password = self.cleaned_data["current_password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your current password.", code="wrong")
        return password


class ChangeEmailForm(_CurrentPasswordMixin):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    field_order = ["email", "current_password"]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        # The same rules as at sign-up, so no address gets in this way that
        # the sign-up form would have refused.
        validators.HTML5EmailValidator()(email)
        validators.validate_confusables_email(email)
        if email.casefold() == self.user.email.casefold():
            raise forms.ValidationError("That is already your email address.", code="same")
        if User.objects.filter(email__iexact=email).exclude(pk=self.user.pk).exists():
            raise forms.ValidationError(validators.DUPLICATE_EMAIL, code="unique")
        return email


class DeleteAccountForm(_CurrentPasswordMixin):
    pass
