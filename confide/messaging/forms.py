from __future__ import annotations

from django import forms

from confide.staff.selectors import staff_groups


class TemplateForm(forms.Form):
    subject = forms.CharField(label="Subject (emails and letters)", max_length=200, required=False)
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea,
        max_length=5000,
        error_messages={"required": "Enter the message"},
    )


class BroadcastForm(forms.Form):
    group = forms.ChoiceField(
        label="Who is it for?",
        error_messages={"required": "Choose who the message is for"},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["group"].choices = [(g.key, g.name) for g in staff_groups()]  # type: ignore[attr-defined]
