"""Forms for subject access and rights: they parse; confide/dpo/subject_access.py has the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from confide.dpo.models import VerificationMethod
from confide.people.details import PersonDetails
from confide.workspace.forms import GovukDateField, radio_choice, text


class SubjectAccessForm(forms.Form):
    verification = radio_choice(
        label="How did you verify the person’s identity?",
        choices=VerificationMethod.choices,
        required_message="Choose how you verified the person’s identity",
    )
    nhs_number = text("NHS number", max_length=20)
    phone = text("Phone number", max_length=40)
    email = text("Email address", max_length=254)


class RectificationForm(forms.Form):
    """The person's details as they should be; the service validates them as a whole."""

    given_name = text("First name", required="Enter their first name", max_length=100)
    family_name = text("Last name", max_length=100)
    date_of_birth = GovukDateField(label="Date of birth", what="date of birth", required=False)
    nhs_number = text("NHS number", max_length=20)
    phone = text("Phone number", max_length=40)
    email = text("Email address", max_length=254)
    address = text("Address", max_length=300)
    postcode = text("Postcode", max_length=10)

    @classmethod
    def initial_from(cls, details: PersonDetails) -> dict[str, Any]:
        return {
            name: getattr(details, name)
            for name in cls.base_fields
            if getattr(details, name) is not None
        }

    def details(self) -> PersonDetails:
        data = self.cleaned_data
        return PersonDetails(
            given_name=data["given_name"],
            family_name=data.get("family_name") or "",
            date_of_birth=data.get("date_of_birth"),
            nhs_number=data.get("nhs_number") or "",
            phone=data.get("phone") or "",
            email=data.get("email") or "",
            address=data.get("address") or "",
            postcode=data.get("postcode") or "",
        )


class ErasureForm(forms.Form):
    confirm = forms.BooleanField(
        label="The person has asked us to erase their details, and I have told them this cannot "
        "be undone",
        error_messages={"required": "Confirm that the person has asked for erasure"},
    )
