"""Forms for the support pages: parsing only; the rules are in services and eligibility."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from confide.support.eligibility import BENEFIT_CHOICES, EMPLOYMENT_CHOICES, WORK_FROM_HOME_CHOICES
from confide.support.models import HelpKind
from confide.workspace.forms import GovukDateField


def _radios(label: Any, choices: Any, required: Any) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={"required": required, "invalid_choice": required},
    )


def _text(label: Any, max_length: int = 100) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=max_length, strip=True)


# One question per page: the question, its choices and its error when nothing is chosen.
QUESTION_FORMS: dict[str, tuple[Any, Any, Any, Any]] = {
    "employment": (
        _("Are you employed or self-employed?"),
        EMPLOYMENT_CHOICES,
        _("Select if you are employed or self-employed"),
        None,
    ),
    "work_from_home": (
        _("Can you work from home while you isolate?"),
        WORK_FROM_HOME_CHOICES,
        _("Select if you can work from home"),
        _("For example, if your job can only be done at your workplace."),
    ),
    "benefit": (
        _("Do you get any of these benefits?"),
        BENEFIT_CHOICES,
        _("Select a benefit, or if you are on a low income"),
        _("Select the first one that applies to you."),
    ),
}


class QuestionForm(forms.Form):
    def __init__(self, *args: Any, question: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        label, choices, required, _hint = QUESTION_FORMS[question]
        self.fields["answer"] = _radios(label, choices, required)


class BankDetailsForm(forms.Form):
    account_name = _text(_("Name on the account"), 100)
    sort_code = _text(_("Sort code"), 20)
    account_number = _text(_("Account number"), 20)


class HelpForm(forms.Form):
    kind = _radios(
        _("What do you need help with?"),
        [
            (HelpKind.FOOD, _("Food")),
            (HelpKind.MEDICINE, _("Medicine")),
            (HelpKind.OTHER, _("Something else")),
        ],
        _("Select what you need help with"),
    )
    details = forms.CharField(
        label=_("Tell us what you need"),
        required=False,
        max_length=1000,
        widget=forms.Textarea,
        error_messages={"max_length": _("What you need must be 1,000 characters or fewer")},
    )


# --- staff ------------------------------------------------------------------------------------

APPROVE, REJECT = "approve", "reject"


class DecisionForm(forms.Form):
    decision = _radios(
        "Your decision",
        [(APPROVE, "Approve"), (REJECT, "Reject")],
        "Select approve or reject",
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=1000,
        widget=forms.Textarea,
        help_text="Needed to reject. The person can see it in a copy of their records.",
    )
    duplicate_checked = forms.BooleanField(
        label="I have checked the other applications with these bank details", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == REJECT and not (data.get("reason") or "").strip():
            raise ValidationError({"reason": "Enter the reason for rejecting the application"})
        return data


class PaymentForm(forms.Form):
    paid_on = GovukDateField(label="Date paid", what="date paid")
    amount = forms.DecimalField(
        label="Amount paid, in pounds",
        max_digits=8,
        decimal_places=2,
        min_value=0,
        error_messages={
            "required": "Enter the amount paid",
            "invalid": "Amount paid must be a number, like 500",
            "min_value": "Amount must be more than £0",
            "max_decimal_places": "Amount paid must be in pounds and pence, like 500.00",
            "max_digits": "Amount paid is too large",
        },
    )
    payment_reference = forms.CharField(
        label="Payment reference",
        max_length=40,
        help_text="The reference in your finance system.",
        error_messages={
            "required": "Enter the payment reference",
            "max_length": "Payment reference must be 40 characters or fewer",
        },
    )
