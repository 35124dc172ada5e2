"""The vote form, the ask form with its choices, and the report form."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from beebeta import time_zones
from beebeta.views import wait_words
from polls import images, ratelimit, services
from polls.models import (
    MAX_CHOICES,
    QUESTION_TITLE_LENGTH,
    TAG_NAME_LENGTH,
    Choice,
    Image,
    Question,
    Report,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class RadioList(forms.RadioSelect):
    """Radio buttons that still read every submitted value, so a crafted
    request with two values for a single-choice question is refused rather
    than silently reduced to one."""

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None)
        return getlist(name) if getlist else data.get(name)


class VoteForm(forms.Form):
    choice = forms.TypedMultipleChoiceField(
        coerce=int, error_messages={"required": "Pick a choice before voting."}
    )

    def __init__(self, *args, question: Question, choices: list[Choice], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.question = question
        field = cast(forms.TypedMultipleChoiceField, self.fields["choice"])
        field.choices = [(choice.pk, choice.text) for choice in choices]
        field.widget = forms.CheckboxSelectMultiple() if question.allows_multiple else RadioList()
        field.widget.choices = field.choices
        field.error_messages["invalid_choice"] = "That choice is not part of this question."
        if question.allows_multiple:
            field.label = f"Pick up to {question.max_choices}"
        else:
            field.label = "Pick one"

    def clean_choice(self) -> list[int]:
        chosen = self.cleaned_data["choice"]
        limit = self.question.max_choices
        if len(chosen) > limit:
            if limit == 1:
                raise forms.ValidationError("This question takes a single choice.")
            raise forms.ValidationError(f"You can pick at most {limit} choices.")
        return chosen


# --- Asking a question ------------------------------------------------------------------

MIN_CHOICES = 2
# Rows a blank ask form starts with; blank rows are ignored on submit.
INITIAL_CHOICE_ROWS = 3
MAX_TAGS = 5
_KEPT_IMAGE_SALT = "polls.ask.kept-image"
# A form left open overnight may still be submitted; older tokens are dropped.
_KEPT_IMAGE_MAX_AGE = 24 * 3600


def kept_image_token(image: Image, user: User) -> str:
    return signing.dumps([image.pk, user.pk], salt=_KEPT_IMAGE_SALT)


def kept_image(token: str | None, user: User) -> Image | None:
    """The image a token from an earlier submission of ``user``'s form stands for.

    The token is signed with the user's id, so nobody can attach a picture
    someone else uploaded by guessing its id.
    """
    if not token:
        return None
    try:
        image_id, user_id = signing.loads(token, salt=_KEPT_IMAGE_SALT, max_age=_KEPT_IMAGE_MAX_AGE)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if user_id != user.pk:
        return None
    return Image.objects.filter(pk=image_id, uploaded_by=user).first()


class RequestUploads:
    """What the pictures of one request may still cost: each is counted against the account's
    and the address's upload rate (UPLOADS_PER_*) before it is read, none is read once the
    request's pictures have taken UPLOAD_REQUEST_SECONDS, and each one's pixels are taken from
    the request's budget (MAX_REQUEST_PIXELS) before it is decoded. Refusals are sentences
    beside the picture; the rest of the form is kept."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        self.request = request
        self.pixels = images.PixelBudget()
        # Seconds until the rate lets pictures in again, once it refused one.
        self.retry_after: int | None = None
        self.started: float | None = None

    def admit(self) -> None:
        now = time.monotonic()
        if self.started is None:
            self.started = now
        elif now - self.started >= settings.UPLOAD_REQUEST_SECONDS:
            raise images.ImageRejected(
                "This picture was not read: the pictures sent before it took all the time one "
                "form may take. The others are kept: choose this one again and send the form."
            )
        if self.request is None:
            return
        if self.retry_after is None:
            self.retry_after = ratelimit.upload_refusal(self.request)
        if self.retry_after is not None:
            raise images.ImageRejected(
                "Too many pictures came from your account or your address in a short time, so "
                f"this one was not read. Choose it again in {wait_words(self.retry_after)}; "
                "everything else is kept."
            )


class ImageSlotForm(forms.Form):
    """An optional picture that survives re-renders of the form.

    An upload is stored as soon as the form is validated; when the page comes
    back (another field's error, a choice row added) it carries a signed token
    for the stored image instead, so a picture is never uploaded twice.
    """

    image = forms.FileField(
        required=False,
        allow_empty_file=True,  # store_image says what is wrong with it
        label="Picture file",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )
    kept_image = forms.CharField(required=False, widget=forms.HiddenInput)
    remove_image = forms.BooleanField(required=False, label="tick to remove")
    alt_text = forms.CharField(
        required=False,
        max_length=Image._meta.get_field("alt_text").max_length,
        label="Describe the picture (optional)",
        error_messages={
            "max_length": (
                "Keep the description to %(limit_value)d characters (it has %(show_value)d)."
            )
        },
    )
    # Says what an empty description becomes; set by the form that holds the slot.
    alt_default = "the text beside it"

    def __init__(
        self,
        *args,
        user: User,
        picture: Image | None = None,
        image_errors: Sequence[str] = (),
        uploads: RequestUploads | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.uploads = uploads or RequestUploads()
        self.picture = picture
        self.image_refusals = list(image_errors)
        self._settled = not self.is_bound
        self.fields["alt_text"].help_text = (
            "For people who cannot see it, for example “A bowl of ramen with a soft egg”. "
            f"Left empty, {self.alt_default} is used."
        )

    def settle_image(self) -> None:
        """Work out which picture this slot holds now, storing a new upload."""
        if self._settled:
            return
        self._settled = True
        picture = kept_image(self["kept_image"].data, self.user)
        if self["remove_image"].data:
            picture = None
        upload = self["image"].data
        if upload:
            try:
                self.uploads.admit()
                picture = images.store_image(upload, user=self.user, pixels=self.uploads.pixels)
            except images.ImageRejected as exc:
                self.image_refusals.append(str(exc))
        self.picture = picture

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        self.settle_image()
        for refusal in self.image_refusals:
            self.add_error("image", refusal)
        if self.picture is not None:
            # Saved with the question; an empty one becomes its text (services.ask_question).
            self.picture.alt_text = " ".join(cleaned.get("alt_text", "").split())
        return cleaned

    @property
    def image_messages(self) -> list[str]:
        return (
            [str(error) for error in self.errors.get("image", [])]
            if self.is_bound
            else self.image_refusals
        )

    @property
    def kept_token(self) -> str:
        return kept_image_token(self.picture, self.user) if self.picture else ""


def _too_long(what: str) -> dict[str, str]:
    return {"max_length": f"Keep {what} to %(limit_value)d characters (it has %(show_value)d)."}


class ChoiceForm(ImageSlotForm):
    alt_default = "the choice's text"
    text = forms.CharField(
        required=False,
        max_length=Choice._meta.get_field("text").max_length,
        error_messages=_too_long("a choice"),
    )


@dataclass
class ChoiceRow:
    """One row of the choices, carried over when the form is rearranged."""

    text: str = ""
    picture: Image | None = None
    alt_text: str = ""
    image_errors: list[str] = field(default_factory=list)


class BaseChoiceFormSet(forms.BaseFormSet):
    default_error_messages = {
        "missing_management_form": "The choices did not arrive whole; check them and try again.",
        "too_many_forms": f"A question can have at most {MAX_CHOICES} choices.",
        "too_few_forms": f"A question needs at least {MIN_CHOICES} choices.",
    }

    def __init__(
        self,
        *args,
        user: User,
        rows: Sequence[ChoiceRow] | None = None,
        uploads: RequestUploads | None = None,
        **kwargs,
    ) -> None:
        self.user = user
        self.uploads = uploads
        self.rows = list(rows or [])
        if rows is not None:
            kwargs["initial"] = [{"text": row.text, "alt_text": row.alt_text} for row in self.rows]
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict:
        # Every row is validated, blank or not: blank rows are skipped in clean().
        kwargs: dict = {"user": self.user, "empty_permitted": False, "uploads": self.uploads}
        if index is not None and index < len(self.rows):
            row = self.rows[index]
            kwargs |= {"picture": row.picture, "image_errors": row.image_errors}
        return kwargs

    def clean(self) -> None:
        seen: set[str] = set()
        blank = []
        for form in self.forms:
            text = form.cleaned_data.get("text", "")
            if not text:
                if form.picture is not None:
                    form.add_error("text", "Type the choice that goes with this picture.")
                elif "text" not in form.errors:
                    blank.append(form)
                continue
            key = " ".join(text.casefold().split())
            if key in seen:
                form.add_error("text", "This choice is already in the list.")
            seen.add(key)
        # Rows with an error of their own count as choices being typed.
        missing = MIN_CHOICES - (len(self.forms) - len(blank))
        if missing <= 0:
            return
        needed = f"A question needs at least {MIN_CHOICES} choices."
        for form in blank[:missing]:
            form.add_error("text", needed)
        if missing > len(blank):
            # A forged request with fewer rows: no row to show it beside.
            raise forms.ValidationError(needed)

    def filled(self) -> list[tuple[str, Image | None]]:
        """The choices typed, in order, once the formset is valid."""
        return [
            (form.cleaned_data["text"], form.picture)
            for form in self.forms
            if form.cleaned_data.get("text")
        ]

    def typed_count(self) -> int:
        return sum(1 for form in self.forms if (form["text"].data or "").strip())


# A subclass of BaseChoiceFormSet (its stubs say only "some BaseFormSet").
ChoiceFormSet = cast(
    type[BaseChoiceFormSet],
    forms.formset_factory(
        ChoiceForm,
        formset=BaseChoiceFormSet,
        extra=0,
        max_num=MAX_CHOICES,
        absolute_max=MAX_CHOICES,
        validate_max=True,
    ),
)


class ZonedDateTimeField(forms.DateTimeField):
    """A date and time typed in ``zone`` (set by its form), whatever time zone is active."""

    zone: tzinfo = UTC

    def to_python(self, value):
        with timezone.override(self.zone):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(self.zone):
            return super().prepare_value(value)


def parse_tags(text: str) -> list[str]:
    """Tag names from a comma-separated list: spaces tidied, repeats dropped."""
    names: dict[str, str] = {}
    for part in text.split(","):
        name = " ".join(part.split()).lstrip("#").strip()
        if name:
            names.setdefault(services.tag_slug(name) or name.casefold(), name)
    return list(names.values())


class AskForm(ImageSlotForm):
    title = forms.CharField(
        min_length=10,
        max_length=QUESTION_TITLE_LENGTH,
        help_text="Ask it the way you would say it, in 10 to 200 characters.",
        error_messages={
            "required": "Type your question.",
            "min_length": (
                "Make the question at least %(limit_value)d characters long "
                "(it has %(show_value)d)."
            ),
            **_too_long("the question"),
        },
    )
    description = forms.CharField(
        required=False,
        max_length=5000,
        label="Description (optional)",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Context that helps people answer.",
        error_messages=_too_long("the description"),
    )
    tags = forms.CharField(
        required=False,
        max_length=400,
        label="Tags (optional)",
        help_text=f"Up to {MAX_TAGS}, separated by commas, for example: food, Tokyo.",
    )
    kind = forms.ChoiceField(
        choices=[("single", "One choice"), ("multiple", "Several choices")],
        initial="single",
        widget=forms.RadioSelect,
        label="Voters pick",
    )
    max_choices = forms.IntegerField(
        required=False,
        min_value=2,
        max_value=MAX_CHOICES,
        label="at most",
        widget=forms.NumberInput(attrs={"min": 2, "max": MAX_CHOICES}),
        error_messages={
            "invalid": "Give a whole number.",
            "min_value": "With several choices, allow at least %(limit_value)s.",
            "max_value": "A voter can pick at most %(limit_value)s.",
        },
    )
    closes_at = ZonedDateTimeField(
        required=False,
        label="Voting closes (optional)",
        # Read in the asker's zone (beebeta.time_zones); the help text names it (__init__).
        help_text="Leave empty to keep it open.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": "Give a date and time, like 2030-05-01 18:00."},
    )
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput)
    results_visibility = forms.ChoiceField(
        choices=Question.Results.choices,
        initial=Question.Results.ALWAYS,
        widget=forms.RadioSelect,
        label="Show the results",
    )

    TYPED: tuple[str, ...] = ("title", "description", "tags", "kind", "max_choices", "closes_at")
    TYPED += ("results_visibility", "alt_text", "time_zone")
    alt_default = "the question"

    def __init__(
        self,
        data=None,
        files=None,
        *,
        user: User,
        initial: dict | None = None,
        picture: Image | None = None,
        image_errors: Sequence[str] = (),
        rows: Sequence[ChoiceRow] | None = None,
        uploads: RequestUploads | None = None,
    ) -> None:
        super().__init__(
            data,
            files,
            user=user,
            initial=initial,
            picture=picture,
            image_errors=image_errors,
            uploads=uploads,
        )
        picture_field = self.fields["image"]
        picture_field.label = "Picture file"
        size = filesizeformat(settings.MAX_UPLOAD_BYTES)
        picture_field.help_text = f"JPEG, PNG, WebP or GIF, up to {size}. Choices can have one too."
        # The closing time is read in the zone the form was shown in (sent back with it), so
        # that a zone chosen meanwhile never shifts a time typed for the one on the page.
        zone_name = timezone.get_current_timezone_name()
        sent = (data if data is not None else initial or {}).get("time_zone") or ""
        if time_zones.zone_named(sent) is not None:
            zone_name = sent
        self.fields["time_zone"].initial = zone_name
        self.zone_name = zone_name
        closes_at = cast(ZonedDateTimeField, self.fields["closes_at"])
        closes_at.zone = time_zones.zone_named(zone_name) or UTC
        closes_at.help_text = f"Date and time in {zone_name}. Leave empty to keep it open."
        if data is None and rows is None:
            rows = [ChoiceRow() for _ in range(INITIAL_CHOICE_ROWS)]
        self.choices = ChoiceFormSet(
            data, files, prefix="choices", user=user, rows=rows, uploads=self.uploads
        )

    def clean_title(self) -> str:
        return " ".join(self.cleaned_data["title"].split())

    def clean_tags(self) -> list[str]:
        names = parse_tags(self.cleaned_data["tags"])
        if len(names) > MAX_TAGS:
            raise forms.ValidationError(f"Use at most {MAX_TAGS} tags (there are {len(names)}).")
        for name in names:
            if len(name) > TAG_NAME_LENGTH:
                raise forms.ValidationError(
                    f"“{name[:20]}…” is too long for a tag: at most {TAG_NAME_LENGTH} characters."
                )
            if not services.tag_slug(name):
                raise forms.ValidationError(f"“{name}” cannot be a tag: use letters or numbers.")
        return names

    def clean_closes_at(self) -> datetime | None:
        closes_at = self.cleaned_data["closes_at"]
        if closes_at is not None and closes_at <= timezone.now():
            raise forms.ValidationError(
                f"Pick a closing time in the future (times are in {self.zone_name})."
            )
        return closes_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.choices.is_valid()
        if cleaned.get("kind") == "multiple" and "max_choices" not in self.errors:
            most, count = cleaned.get("max_choices"), self.choices.typed_count()
            if most is None:
                self.add_error("max_choices", "Say how many choices a voter may pick.")
            elif count >= MIN_CHOICES and most > count:
                self.add_error(
                    "max_choices", f"A voter cannot pick more than the {count} choices there are."
                )
        if (
            cleaned.get("results_visibility") == Question.Results.AFTER_CLOSE
            and cleaned.get("closes_at") is None
            and "closes_at" not in self.errors
        ):
            self.add_error(
                "results_visibility",
                "Results shown only after closing need a closing time; set one above.",
            )
        return cleaned

    def is_valid(self) -> bool:
        return super().is_valid() and self.choices.is_valid()

    def question_fields(self) -> dict:
        """What services.ask_question takes, from a valid form."""
        data = self.cleaned_data
        multiple = data["kind"] == "multiple"
        return {
            "title": data["title"],
            "description": data["description"],
            "choices": self.choices.filled(),
            "tags": data["tags"],
            "max_choices": data["max_choices"] if multiple else 1,
            "closes_at": data["closes_at"],
            "results_visibility": data["results_visibility"],
            "image": self.picture,
        }

    @property
    def can_add_choice(self) -> bool:
        return self.choices.total_form_count() < MAX_CHOICES

    @property
    def can_remove_choice(self) -> bool:
        return self.choices.total_form_count() > MIN_CHOICES

    def rearranged(self, *, add: bool = False, remove: int | None = None) -> AskForm:
        """This submitted form back as a blank-slate page with one choice row more
        or fewer: everything typed and every picture kept, no errors shown."""
        self.settle_image()
        rows = []
        for index, form in enumerate(self.choices.forms):
            form.settle_image()
            if index != remove:
                text, alt_text = form["text"].data or "", form["alt_text"].data or ""
                rows.append(ChoiceRow(text, form.picture, alt_text, form.image_refusals))
        if add:
            rows.append(ChoiceRow())
        rows = rows[:MAX_CHOICES]
        rows += [ChoiceRow() for _ in range(MIN_CHOICES - len(rows))]
        return AskForm(
            user=self.user,
            initial={name: self[name].data for name in self.TYPED},
            picture=self.picture,
            image_errors=self.image_refusals,
            rows=rows,
        )


# --- Reporting ----------------------------------------------------------------------------


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        choices=Report.Reason.choices,
        widget=forms.RadioSelect,
        label="What is wrong with it?",
        error_messages={"required": "Pick the reason that fits best."},
    )
    details = forms.CharField(
        required=False,
        max_length=Report._meta.get_field("details").max_length,
        label="Details (optional)",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Anything that helps a moderator decide, up to 1000 characters.",
        error_messages=_too_long("the details"),
    )
