"""The vote form: the choices of one question as radio buttons or checkboxes."""

from __future__ import annotations

from django import forms

from polls.models import Choice, Question


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
        field = self.fields["choice"]
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
