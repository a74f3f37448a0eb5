from __future__ import annotations

from typing import Any

from django import forms

from confide.dpo.disclosures import DISCLOSABLE_FIELDS, FIELD_LABELS
from confide.dpo.models import DataCategory, Decision, LawfulBasis, RequesterKind

NO_PERSONAL_DATA = "Do not write names or contact details: refer to people by their reference."
WHEN_FORMAT = "For example, 2026-11-27 14:30"
TIME_FORMAT = "%Y-%m-%d %H:%M"


def _when(label: str, *, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=WHEN_FORMAT,
        input_formats=[TIME_FORMAT, "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
        error_messages={"invalid": f"Enter a date and time in the format {WHEN_FORMAT[13:]}"},
    )


def _text(label: str, *, required: bool = False, hint: str = NO_PERSONAL_DATA) -> forms.CharField:
    return forms.CharField(label=label, required=required, widget=forms.Textarea, help_text=hint)


class BreachForm(forms.Form):
    summary = forms.CharField(
        label="Summary",
        max_length=200,
        help_text=NO_PERSONAL_DATA,
        error_messages={"required": "Give the breach a short summary"},
    )
    became_aware_at = _when("When did we become aware of it?")
    facts = _text("What happened")
    data_categories = forms.MultipleChoiceField(
        label="Categories of personal data",
        choices=DataCategory.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    approximate_people = forms.IntegerField(
        label="Approximate number of people", min_value=0, required=False
    )
    approximate_records = forms.IntegerField(
        label="Approximate number of records", min_value=0, required=False
    )
    likely_consequences = _text("Likely consequences")
    measures_taken = _text("Measures taken")
    measures_proposed = _text("Measures proposed")
    report_to_ico = forms.ChoiceField(
        label="Report to the ICO?", choices=Decision.choices, initial=Decision.UNDECIDED
    )
    report_to_ico_reason = _text("Why?", hint="The reason for the decision on reporting.")
    reported_to_ico_at = _when("When was it reported to the ICO?", required=False)
    ico_reference = forms.CharField(label="ICO reference", max_length=64, required=False)
    tell_people = forms.ChoiceField(
        label="Tell the people affected (Art. 34)?",
        choices=Decision.choices,
        initial=Decision.UNDECIDED,
    )
    tell_people_reason = _text("Why?", hint="The reason for the decision on telling people.")
    people_told_at = _when("When were they told?", required=False)

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in (
            "facts",
            "likely_consequences",
            "measures_taken",
            "measures_proposed",
            "report_to_ico_reason",
            "tell_people_reason",
            "ico_reference",
        ):
            data[name] = (data.get(name) or "").strip()
        data["data_categories"] = list(data.get("data_categories") or [])
        return data


FIELD_CHOICES = [(name, FIELD_LABELS[name]) for name in DISCLOSABLE_FIELDS]


class DisclosureRequestForm(forms.Form):
    requester_kind = forms.ChoiceField(
        label="Who is asking?",
        choices=RequesterKind.choices,
        error_messages={"required": "Choose who is asking"},
    )
    organisation = forms.CharField(label="Organisation", max_length=200, required=False)
    requester_name = forms.CharField(
        label="Name of the person asking", max_length=200, required=False
    )
    requester_contact = forms.CharField(
        label="Their contact details", max_length=300, required=False
    )
    stated_purpose = _text("The purpose they gave", hint="As they stated it.")
    requested_fields = forms.MultipleChoiceField(
        label="What did they ask for?",
        choices=FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    received_at = _when("When did the request arrive?")
    nhs_number = forms.CharField(label="NHS number of the person concerned", required=False)
    phone = forms.CharField(label="Their phone number", required=False)
    email = forms.CharField(label="Their email address", required=False)


class ApprovalForm(forms.Form):
    lawful_basis = forms.ChoiceField(
        label="Lawful basis for disclosing",
        choices=LawfulBasis.choices,
        error_messages={"required": "Choose the lawful basis for disclosing"},
    )
    justification = _text(
        "Why the lawful basis applies", hint="For example, the court order's reference."
    )
    disclosed_fields = forms.MultipleChoiceField(
        label="Fields to disclose",
        choices=FIELD_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, requested: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["disclosed_fields"].choices = [(n, FIELD_LABELS[n]) for n in requested]  # type: ignore[attr-defined]
