"""Forms for the match review pages: they parse; the services decide."""

from __future__ import annotations

from django import forms

REASON_ERRORS = {
    "required": "Say why you made this decision",
    "max_length": "The reason must be 500 characters or fewer",
}


class Decision:
    SAME = "same"
    DIFFERENT = "different"


class MatchDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Are these records the same person?",
        choices=[
            (Decision.SAME, "Yes, the same person: merge the new record into the one we held"),
            (Decision.DIFFERENT, "No, different people: keep both records"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether these records are the same person"},
    )
    reason = forms.CharField(
        label="Why?",
        max_length=500,
        widget=forms.Textarea,
        help_text="For example, which details you checked. This is recorded with your decision.",
        error_messages=REASON_ERRORS,
    )


class UndoMergeForm(forms.Form):
    reason = forms.CharField(
        label="Why are you undoing this merge?",
        max_length=500,
        widget=forms.Textarea,
        help_text="This is recorded with your name.",
        error_messages=REASON_ERRORS,
    )
