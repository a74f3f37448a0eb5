"""Forms for the public pages: they parse what was typed, in English or Welsh; the services
hold the rules. Wording follows the GOV.UK Design System's error messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from confide.tracing.models import Proximity, SettingKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a dev-only package: type checking only
from confide.workspace.forms import DatePartsWidget


class PublicDateField(forms.Field):
    """The GOV.UK date input (day, month, year boxes) with translated messages."""

    widget = DatePartsWidget

    def __init__(self, *, required_message: StrOrPromise, **kwargs: Any) -> None:
        self.required_message = required_message
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:
        parts = [str(p or "").strip() for p in (value or ["", "", ""])]
        if not any(parts):
            if self.required:
                raise ValidationError(self.required_message)
            return None
        if not all(parts):
            raise ValidationError(_("Enter a day, a month and a year"), code="incomplete")
        if not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
            raise ValidationError(_("Enter a real date, like 27 3 2021"), code="invalid")
        day, month, year = (int(part) for part in parts)
        try:
            return date(year, month, day)
        except ValueError:
            raise ValidationError(_("Enter a real date, like 27 3 2021"), code="invalid") from None


def _radios(
    *, label: StrOrPromise, choices: Sequence[tuple[str, StrOrPromise]], message: StrOrPromise
) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={"required": message, "invalid_choice": message},
    )


class DateOfBirthForm(forms.Form):
    date_of_birth = PublicDateField(
        label=_("What is your date of birth?"),
        required_message=_("Enter your date of birth"),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Security code"),
        max_length=12,
        error_messages={"required": _("Enter the security code")},
    )


class _OnsetWhenSymptomatic(forms.Form):
    """A form asking when symptoms started, an answer needed only when the answer named by
    `onset_needed_when` (field, value) says the person has symptoms."""

    onset_needed_when: tuple[str, str]
    symptom_onset = PublicDateField(
        label=_("When did your symptoms start?"),
        required=False,
        required_message=_("Enter the date your symptoms started"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        field, symptomatic = self.onset_needed_when
        missing = not cleaned.get("symptom_onset") and "symptom_onset" not in self.errors
        if cleaned.get(field) == symptomatic and missing:
            self.add_error("symptom_onset", _("Enter the date your symptoms started"))
        return cleaned


class SymptomsForm(_OnsetWhenSymptomatic):
    symptoms = _radios(
        label=_("Have you had any symptoms of coronavirus?"),
        choices=[
            ("yes", pgettext_lazy("have you had symptoms", "Yes")),
            ("no", pgettext_lazy("have you had symptoms", "No")),
        ],
        message=_("Select yes if you have had symptoms"),
    )
    onset_needed_when = ("symptoms", "yes")
    field_order = ["symptoms", "symptom_onset"]


PLACE_KINDS = [
    (SettingKind.WORKPLACE.value, _("Workplace")),
    (SettingKind.SCHOOL.value, _("School or nursery")),
    (SettingKind.CARE_HOME.value, _("Care home")),
    (SettingKind.HEALTHCARE.value, _("Hospital, surgery or other healthcare setting")),
    (SettingKind.VENUE.value, _("Pub, restaurant, gym or other venue")),
    (SettingKind.EVENT.value, _("Event or gathering")),
]


class PlaceForm(forms.Form):
    kind = _radios(
        label=_("What kind of place was it?"),
        choices=PLACE_KINDS,
        message=_("Select the kind of place"),
    )
    name = forms.CharField(
        label=_("Name of the place"),
        max_length=200,
        error_messages={"required": _("Enter the name of the place")},
    )
    postcode = forms.CharField(
        label=_("Postcode"), max_length=10, error_messages={"required": _("Enter the postcode")}
    )
    visited_on = PublicDateField(
        label=_("When were you there?"), required_message=_("Enter the date you were there")
    )


PROXIMITY_CHOICES = [
    (Proximity.HOUSEHOLD.value, _("They live with me")),
    (Proximity.CLOSE.value, _("Face to face, closer than 1 metre")),
    (Proximity.PROXIMITY.value, _("Within 2 metres for 15 minutes or more")),
]


class ContactForm(forms.Form):
    given_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        error_messages={"required": _("Enter their first name")},
    )
    family_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    phone = forms.CharField(label=_("Mobile phone number"), max_length=30, required=False)
    email = forms.CharField(label=_("Email address"), max_length=254, required=False)
    last_contact = PublicDateField(
        label=_("When were you last together?"),
        required_message=_("Enter the date you were last together"),
    )
    proximity = _radios(
        label=_("How were you in contact?"),
        choices=PROXIMITY_CHOICES,
        message=_("Select how you were in contact"),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("phone") and not cleaned.get("email") and "phone" not in self.errors:
            self.add_error("phone", _("Enter a mobile phone number or an email address, or both"))
        return cleaned


class CheckInForm(_OnsetWhenSymptomatic):
    outcome = _radios(
        label=_("How are you today?"),
        choices=[
            ("well", _("I feel well")),
            ("symptoms", _("I have symptoms of coronavirus")),
            ("needs_support", _("I need help with food, medicine or money")),
        ],
        message=_("Select how you are today"),
    )
    onset_needed_when = ("outcome", "symptoms")
    field_order = ["outcome", "symptom_onset"]
