"""Hostile input under hypothesis: every form's validation and the image validator, 10,000
examples each. Refusing is fine (form errors, ValidationError, ImageRejected); any other
exception fails the test.

Forms run without the database where they can (unsaved questions, choices and users); the ones
that query it (sign-up, email change, login) use the test database and the fixture cast.
"""

from __future__ import annotations

import io
import os

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from accounts.forms import (
    ChangeEmailForm,
    ChangeUsernameForm,
    DeleteAccountForm,
    EmailVoteForm,
    LoginForm,
    SignUpForm,
)
from polls import images
from polls.forms import AskForm, ReportForm, VoteForm
from polls.models import MAX_CHOICES, Choice, Question

# `make fuzz` runs the full 10,000 examples per form (about three minutes); `make test` a
# smaller sample, to stay within its time budget.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "500"))
fuzz = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # Fixtures (the cast, settings) are set up once and only read by the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TRICKY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e",
    "\ufeff",
    "0",
    "-1",
    "1e309",
    "NaN",
    "9" * 40,
    "2030-05-01T18:00",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2030-02-30T25:61",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "%(limit_value)s",
    "{0}",
    "a@b.c",
    "\U0001f600" * 10,
    "single",
    "multiple",
    "always",
    "voted",
    "closed",
    "spam",
]
values = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    # Around every length limit (200, 1000, 5000 characters) without generating each character.
    st.tuples(st.sampled_from(TRICKY), st.integers(min_value=0, max_value=5002)).map(
        lambda t: ((t[0] or "x") * t[1])[: t[1]]
    ),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)


def form_data(names: list[str]) -> st.SearchStrategy[MultiValueDict]:
    """Any subset of these fields, each with zero to three values."""
    fields = {name: st.lists(values, max_size=3) for name in names}
    return st.fixed_dictionaries({}, optional=fields).map(MultiValueDict)


def validate(form) -> None:
    try:
        form.is_valid()
        form.errors.as_data()
    except ValidationError:
        pass


# --- Polls forms, without the database ----------------------------------------------------------


def unsaved_question(max_choices: int) -> tuple[Question, list[Choice]]:
    question = Question(pk=1, slug="q", title="Which one?", max_choices=max_choices)
    choices = [Choice(pk=10 + i, question=question, text=f"c{i}", position=i) for i in range(4)]
    return question, choices


@fuzz
@given(data=form_data(["choice"]), max_choices=st.integers(min_value=1, max_value=4))
def test_vote_form(data, max_choices):
    question, choices = unsaved_question(max_choices)
    validate(VoteForm(data, question=question, choices=choices))


@fuzz
@given(data=form_data(["reason", "details"]))
def test_report_form(data):
    validate(ReportForm(data))


ASK_FIELDS = [
    "title",
    "description",
    "tags",
    "kind",
    "max_choices",
    "closes_at",
    "results_visibility",
    "kept_image",
    "remove_image",
    "alt_text",
    *(f"choices-{part}" for part in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS")),
    "choices-MAX_NUM_FORMS",
    *(f"choices-{i}-text" for i in range(MAX_CHOICES + 1)),
    "choices-0-remove_image",
    "choices-0-kept_image",
    "choices-0-alt_text",
]


@fuzz
@given(data=form_data(ASK_FIELDS), total=st.integers(min_value=-3, max_value=10**6))
def test_ask_form_and_its_choices(data, total):
    if "choices-TOTAL_FORMS" not in data:
        data.setlist("choices-TOTAL_FORMS", [str(total)])
        data.setlist("choices-INITIAL_FORMS", ["0"])
    user = get_user_model()(pk=1, username="alice")
    form = AskForm(data, MultiValueDict(), user=user)
    validate(form)
    if form.is_valid():
        form.question_fields()


# --- Accounts forms, against the test database ------------------------------------------------


@fuzz
@given(data=form_data(["username", "email", "password1", "password2"]))
def test_sign_up_form(data, alice):
    validate(SignUpForm(data))


@fuzz
@given(data=form_data(["email", "current_password"]))
def test_change_email_form(data, alice):
    validate(ChangeEmailForm(data, user=alice))


@fuzz
@given(data=form_data(["username"]))
def test_change_username_form(data, alice):
    validate(ChangeUsernameForm(data, user=alice))


@fuzz
@given(data=form_data(["email", "vote"]))
def test_email_vote_form(data, alice):
    validate(EmailVoteForm(data))


@fuzz
@given(data=form_data(["current_password"]))
def test_delete_account_form(data, alice):
    validate(DeleteAccountForm(data, user=alice))


@pytest.fixture
def without_axes(settings) -> None:
    # The form and the authentication backends, without django-axes counting 10,000 failures
    # (tests/accounts/test_login_throttling.py covers the lockout).
    settings.AXES_ENABLED = False


@fuzz
@given(data=form_data(["username", "password", "vote"]))
def test_login_form(data, alice, without_axes):
    request = RequestFactory().post("/accounts/login/")
    validate(LoginForm(request, data=data))


# --- The image validator ----------------------------------------------------------------------


def _encoded(fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture = PILImage.new("RGB", (12, 9), (200, 30, 90))
    if fmt == "GIF":
        frames = [picture.convert("P"), PILImage.new("P", (12, 9), 3)]
        frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], loop=0)
    else:
        picture.save(buffer, fmt, **options)
    return buffer.getvalue()


SEEDS = [_encoded("JPEG", quality=80), _encoded("PNG"), _encoded("GIF"), _encoded("WEBP")]
# As Django's upload parser hands them over: no folders, never empty.
NAMES = ["a.jpg", "passwd", "x.php.png", "..jpg", "ü" * 300 + ".webp", "-", "a"]


@st.composite
def mutated_images(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        where = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "truncate", "insert", "append", "splice"]))
        if operation == "flip" and data:
            data[where] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "truncate":
            del data[where:]
        elif operation == "insert":
            data[where:where] = draw(st.binary(max_size=16))
        elif operation == "append":
            data += draw(st.sampled_from([b"<?php", b"<script>", b"PK\x05\x06", b"%PDF-", b""]))
            data += draw(st.binary(max_size=32))
        else:
            data[where:] = draw(st.sampled_from(SEEDS))[where:]
    return bytes(data)


@fuzz
@given(data=st.one_of(mutated_images(), st.binary(max_size=64)), name=st.sampled_from(NAMES))
def test_image_validator(data, name, alice, local_media):
    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
    try:
        stored = images.store_image(upload, user=alice)
    except images.ImageRejected as refusal:
        assert str(refusal)
    else:
        assert stored.pk is not None
