"""The daily follow-up check-in form: it parses what was typed; `record_check_in` holds the
rules."""

from __future__ import annotations

from typing import Any

from django import forms

from confide.tracing.models import FollowUpOutcome
from confide.workspace.forms import GovukDateField, radio_choice


class CheckInForm(forms.Form):
    outcome = radio_choice(
        label="How are they today?",
        choices=[
            (FollowUpOutcome.WELL, "Well, with no symptoms"),
            (FollowUpOutcome.SYMPTOMS, "They have symptoms"),
            (FollowUpOutcome.NEEDS_SUPPORT, "They need support to keep self-isolating"),
            (FollowUpOutcome.UNREACHABLE, "We could not reach them"),
        ],
        required_message="Choose how they are today",
    )
    symptom_onset = GovukDateField(
        label="When did their symptoms start?", what="date their symptoms started", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("outcome") == FollowUpOutcome.SYMPTOMS
            and not data.get("symptom_onset")
            and "symptom_onset" not in self.errors
        ):
            self.add_error("symptom_onset", "Enter the date their symptoms started")
        return data
