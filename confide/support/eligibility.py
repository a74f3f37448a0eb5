"""Who may be paid: England's Test and Trace Support Payment rules (2020), as data.

Told to isolate is true by construction: only a verified contact (through their exposure) or a
case reaches the application. The other three conditions are asked one per page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from confide.support.models import Scheme

EMPLOYMENT_CHOICES = [
    ("employed", _("Employed")),
    ("self_employed", _("Self-employed")),
    ("neither", _("Neither")),
]
WORK_FROM_HOME_CHOICES = [
    ("no", _("No, I cannot work from home")),
    ("yes", _("Yes, I can work from home")),
]
# England, 28 September 2020: the benefits that qualify for the main £500 payment.
QUALIFYING_BENEFITS = [
    ("universal_credit", _("Universal Credit")),
    ("working_tax_credit", _("Working Tax Credit")),
    ("jobseekers_allowance", _("income-based Jobseeker’s Allowance")),
    ("employment_support_allowance", _("income-related Employment and Support Allowance")),
    ("income_support", _("Income Support")),
    ("housing_benefit", _("Housing Benefit")),
    ("pension_credit", _("Pension Credit")),
]
LOW_INCOME = "low_income"
NO_BENEFIT = "none"
BENEFIT_CHOICES = [
    *QUALIFYING_BENEFITS,
    (LOW_INCOME, _("None of these, but I am on a low income and will lose income")),
    (NO_BENEFIT, _("None of these")),
]
QUESTIONS = ("employment", "work_from_home", "benefit")


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    scheme: str = ""
    reasons: list[str | Promise] = field(default_factory=list)


def assess_eligibility(answers: dict[str, str]) -> Eligibility:
    """Eligible when all three conditions hold; the main scheme for a qualifying benefit, a
    council's discretionary payment for a low income without one."""
    reasons: list[str | Promise] = []
    if answers.get("employment") not in {"employed", "self_employed"}:
        reasons.append(_("You need to be employed or self-employed."))
    if answers.get("work_from_home") != "no":
        reasons.append(_("You need to be unable to work from home."))
    benefit = answers.get("benefit")
    qualifying = {code for code, _label in QUALIFYING_BENEFITS}
    if benefit not in qualifying and benefit != LOW_INCOME:
        reasons.append(_("You need to get a qualifying benefit or be on a low income."))
    if reasons:
        return Eligibility(eligible=False, reasons=reasons)
    return Eligibility(
        eligible=True, scheme=Scheme.MAIN if benefit in qualifying else Scheme.DISCRETIONARY
    )


def answer_label(question: str, code: str | None) -> str | Promise:
    choices = {
        "employment": EMPLOYMENT_CHOICES,
        "work_from_home": WORK_FROM_HOME_CHOICES,
        "benefit": BENEFIT_CHOICES,
    }[question]
    return dict(choices).get(code or "", "")
