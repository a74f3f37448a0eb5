"""Forms for the tracer workspace: they parse what was typed; the services hold the rules.

Error messages follow the GOV.UK Design System's wording for each component.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from confide.people.models import SafeguardingKind
from confide.staff.models import Tier
from confide.tracing.models import Proximity, SettingKind
from confide.workqueue.models import CallOutcome

DATE_PARTS = ("day", "month", "year")


class DatePartsWidget(forms.MultiWidget):
    """The GOV.UK date input: three boxes, posted as `<name>_day`, `_month` and `_year`."""

    def __init__(self) -> None:
        super().__init__(widgets={part: forms.TextInput for part in DATE_PARTS})

    def decompress(self, value: Any) -> list[Any]:
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        return [None, None, None]


class GovukDateField(forms.Field):
    """A date typed as day, month and year, checked as the GOV.UK date input pattern says."""

    widget = DatePartsWidget

    def __init__(self, *, what: str, **kwargs: Any) -> None:
        self.what = what
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:
        parts = [str(p or "").strip() for p in (value or ["", "", ""])]
        if not any(parts):
            if self.required:
                raise ValidationError(f"Enter the {self.what}")
            return None
        missing = [name for name, part in zip(DATE_PARTS, parts, strict=True) if not part]
        if missing:
            raise ValidationError(
                f"The {self.what} must include a {' and a '.join(missing)}",
                code="incomplete",
            )
        if not all(part.isdigit() for part in parts):
            raise ValidationError(f"The {self.what} must be a real date", code="invalid")
        day, month, year = (int(part) for part in parts)
        if len(parts[2]) != 4:
            raise ValidationError("Year must include 4 numbers", code="invalid")
        try:
            return date(year, month, day)
        except ValueError:
            raise ValidationError(f"The {self.what} must be a real date", code="invalid") from None


def radio_choice(
    *, label: str, choices: Sequence[tuple[str, str]], required_message: str
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": required_message,
            "invalid_choice": required_message,
        },
    )


def text(
    label: str, *, required: str | None = None, max_length: int = 200, help_text: str = ""
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required is not None,
        max_length=max_length,
        help_text=help_text,
        error_messages={
            "required": required or "",
            "max_length": f"{label} must be {max_length} characters or fewer",
        },
    )


class RecordCallForm(forms.Form):
    outcome = radio_choice(
        label="What happened on the call?",
        choices=CallOutcome.choices,
        required_message="Choose what happened on the call",
    )


class InterviewOutcome:
    CONTACTS = "contacts"
    NO_CONTACTS = "no_contacts"
    PARTIAL = "partial"

    choices = (
        (CONTACTS, "Interview completed: contacts recorded"),
        (NO_CONTACTS, "Interview completed: they had no contacts in their infectious period"),
        (PARTIAL, "Interview completed in part: they did not give every contact"),
    )


class CompleteInterviewForm(forms.Form):
    outcome = radio_choice(
        label="How did the interview end?",
        choices=InterviewOutcome.choices,
        required_message="Choose how the interview ended",
    )

    def outcome_text(self) -> str:
        return dict(InterviewOutcome.choices)[self.cleaned_data["outcome"]]


class ContactForm(forms.Form):
    given_name = text("First name", required="Enter their first name", max_length=100)
    family_name = text("Last name", max_length=100)
    phone = text("Phone number (optional)", max_length=40)
    email = text("Email address (optional)", max_length=254)
    nhs_number = text("NHS number (optional)", max_length=20)
    last_contact = GovukDateField(label="Date of last contact", what="date of last contact")
    proximity = radio_choice(
        label="How were they in contact?",
        choices=Proximity.choices,
        required_message="Choose how they were in contact",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not (cleaned.get("phone") or cleaned.get("email")) and not (
            self.has_error("phone") or self.has_error("email")
        ):
            self.add_error(
                "phone",
                "Enter a phone number or an email address, so we can tell them to self-isolate",
            )
        return cleaned


class PlaceVisitedForm(forms.Form):
    kind = radio_choice(
        label="What kind of place was it?",
        choices=SettingKind.choices,
        required_message="Choose what kind of place it was",
    )
    name = text(
        "Name of the place",
        max_length=200,
        help_text="For example, the name of the school or the workplace. "
        "Leave this empty for a household.",
    )
    postcode = text("Postcode", required="Enter the postcode", max_length=10)
    visited_on = GovukDateField(label="Date they were there", what="date they were there")


def tier_choices(*, excluding: int | None) -> list[tuple[str, str]]:
    return [(str(value), label) for value, label in Tier.choices if value != excluding]


class EscalateForm(forms.Form):
    to_tier = radio_choice(
        label="Who should take this case?",
        choices=tier_choices(excluding=None),
        required_message="Choose who should take this case",
    )
    reason = forms.CharField(
        label="Why are you escalating it?",
        max_length=300,
        widget=forms.Textarea,
        error_messages={
            "required": "Say why you are escalating the case",
            "max_length": "The reason must be 300 characters or fewer",
        },
    )

    def __init__(self, *args: Any, current_tier: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        to_tier = self.fields["to_tier"]
        assert isinstance(to_tier, forms.ChoiceField)
        to_tier.choices = tier_choices(excluding=current_tier)


class ReassignForm(forms.Form):
    to = forms.ChoiceField(
        label="Give it to",
        error_messages={
            "required": "Choose a tracer to give this item to",
            "invalid_choice": "Choose a tracer who works in this item's tier",
        },
    )

    def __init__(self, *args: Any, tracers: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        to = self.fields["to"]
        assert isinstance(to, forms.ChoiceField)
        to.choices = list(tracers)


class PopulationSearchForm(forms.Form):
    nhs_number = text("NHS number", max_length=20)
    phone = text("Phone number", max_length=40)
    email = text("Email address", max_length=254)
    purpose = forms.CharField(
        label="Why do you need to search?",
        max_length=200,
        widget=forms.Textarea,
        help_text="This is recorded with your search and shown to the data protection officer.",
        error_messages={
            "required": "Say why you need to search",
            "max_length": "The reason must be 200 characters or fewer",
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not any(cleaned.get(name) for name in ("nhs_number", "phone", "email")):
            self.add_error("nhs_number", "Enter an NHS number, a phone number or an email address")
        return cleaned


class SafeguardingForm(forms.Form):
    flags = forms.MultipleChoiceField(
        label="Safeguarding flags for this person",
        choices=SafeguardingKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
