"""Records of processing (UK GDPR Art. 30) from the code's own declarations.

Which personal fields exist is read from the models themselves: every `<name>_sealed` field
(personal data sealed under a subject's key) and every blind-index field. Each must have a
declaration here — purpose, lawful basis, retention, who can see it — and a test fails for a
field without one (or a declaration naming a field that no longer exists), so the page cannot
drift from the code. The page also shows an undeclared field, marked, rather than leaving it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import models

from confide.people.models import PERSON_SEALED_FIELDS
from confide.privacy.blind_index import INDEX_HEX_LENGTH
from confide.staff.models import STAFF_SEALED_FIELDS

# Lawful bases, as the ICO names them.
PUBLIC_TASK_HEALTH = (
    "UK GDPR Art. 6(1)(e) public task; health data under Art. 9(2)(i) public health and "
    "DPA 2018 Sch. 1 para. 3; Health Protection (Notification) Regulations 2010"
)
EMPLOYMENT = "UK GDPR Art. 6(1)(b) contract of employment and 6(1)(c) legal obligation"
LEGAL_OBLIGATION = "UK GDPR Art. 6(1)(c) legal obligation (Art. 5(2) accountability)"
SUPPORT_PAYMENTS = (
    "UK GDPR Art. 6(1)(e) public task: local authorities administering the Test and Trace "
    "Support Payment scheme (England, from 28 September 2020)"
)

# Retention: placeholders replaced, when the page is read, by the periods in settings
# (confide/dpo/retention.py), so the page shows what the sweep actually does.
UNTIL_SWEEP = "person retention"
SETTING_RETENTION = "setting retention"
STAFF_RETENTION = "While employed, then erased with the account"

TRACERS = "The tracer who holds the case or contact; clinicians for cases in their own tier"
SEARCH_ONLY = "Nobody reads it: compared by exact match (keyed HMAC), never decrypted"
SUPPORT_OFFICERS = "Local authority support officers with in-date training"


@dataclass(frozen=True)
class Declaration:
    purpose: str
    lawful_basis: str
    retention: str
    access: str


_PERSON = {
    "given_name": Declaration("To speak to the person", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS),
    "family_name": Declaration(
        "To confirm we are speaking to the right person", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS
    ),
    "date_of_birth": Declaration(
        "Identity check; matching test results", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS
    ),
    "nhs_number": Declaration(
        "Matching test results to people", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS
    ),
    "phone": Declaration(
        "Reaching the person by phone and text", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS
    ),
    "email": Declaration("Reaching the person by email", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS),
    "address": Declaration(
        "Households; local teams; letters",
        PUBLIC_TASK_HEALTH,
        UNTIL_SWEEP,
        TRACERS + "; withheld when a safeguarding flag says so",
    ),
    "postcode": Declaration("Households; local teams", PUBLIC_TASK_HEALTH, UNTIL_SWEEP, TRACERS),
}

_INDEX = Declaration(
    "Exact lookups without decrypting (finding a known person)",
    PUBLIC_TASK_HEALTH,
    UNTIL_SWEEP,
    SEARCH_ONLY,
)

_STAFF = Declaration(
    "Staff administration and sign-in",
    EMPLOYMENT,
    STAFF_RETENTION,
    "The staff member; supervisors and administrators",
)


def _message_retention() -> str:
    return (
        f"{settings.CONFIDE_MESSAGE_RETENTION_DAYS} days after sending "
        "(CONFIDE_MESSAGE_RETENTION_DAYS); the delivery record stays without it"
    )


def _person_retention() -> str:
    return (
        f"A contact's: {settings.CONFIDE_RETENTION_CONTACT_DAYS} days after their isolation "
        "ends (CONFIDE_RETENTION_CONTACT_DAYS); a case's: "
        f"{settings.CONFIDE_RETENTION_CASE_YEARS} years after the case ends "
        "(CONFIDE_RETENTION_CASE_YEARS); then crypto-shredded by the daily retention sweep. "
        "Erased sooner on request where the law allows"
    )


def _setting_retention() -> str:
    return (
        "While any case that visited it, or contact who met someone there, is kept (see "
        "people); then crypto-shredded by the retention sweep"
    )


_RETENTION_TEXT = {
    "message retention": _message_retention,
    UNTIL_SWEEP: _person_retention,
    SETTING_RETENTION: _setting_retention,
}


def _disclosure(purpose: str) -> Declaration:
    return Declaration(
        purpose,
        LEGAL_OBLIGATION,
        "Kept with the request as the record of what was asked and decided",
        "The data protection officer; the staff member who recorded the request",
    )


# (model label, field name without `_sealed`) -> its declaration.
DECLARATIONS: dict[tuple[str, str], Declaration] = {
    **{("people.Person", name): _PERSON[name] for name in PERSON_SEALED_FIELDS},
    **{
        ("people.Person", index): _INDEX
        for index in (
            "nhs_number_index",
            "email_index",
            "phone_index",
            "surname_dob_index",
            "postcode_index",
        )
    },
    **{("staff.StaffMember", name): _STAFF for name in STAFF_SEALED_FIELDS},
    ("staff.StaffMember", "email_index"): Declaration(
        "Signing in by email without storing the address", EMPLOYMENT, STAFF_RETENTION, SEARCH_ONLY
    ),
    ("staff.AuthenticatorApp", "key"): Declaration(
        "Checking the second factor at sign-in (the authenticator app's shared secret)",
        EMPLOYMENT,
        STAFF_RETENTION,
        "Nobody: shown once to the member while setting up, then read only to check a code",
    ),
    ("tracing.Setting", "address"): Declaration(
        "Finding clusters; households are homes", PUBLIC_TASK_HEALTH, SETTING_RETENTION, TRACERS
    ),
    ("tracing.Setting", "postcode"): Declaration(
        "Finding clusters by area", PUBLIC_TASK_HEALTH, SETTING_RETENTION, TRACERS
    ),
    ("tracing.Setting", "postcode_index"): Declaration(
        _INDEX.purpose, _INDEX.lawful_basis, SETTING_RETENTION, _INDEX.access
    ),
    ("messaging.Message", "recipient"): Declaration(
        "Delivering one notification to one person",
        PUBLIC_TASK_HEALTH,
        "message retention",  # replaced by _message_retention() when read
        "Nobody: read only by the sending worker",
    ),
    ("messaging.Message", "personalisation"): Declaration(
        "The fields a notification's template declares (first name, isolation end date)",
        PUBLIC_TASK_HEALTH,
        "message retention",
        "Nobody: read only by the sending worker",
    ),
    ("dpo.DisclosureRequest", "requester_name"): _disclosure("Recording who asked for data"),
    ("dpo.DisclosureRequest", "requester_contact"): _disclosure("Replying to the requester"),
    ("dpo.DisclosureRequest", "stated_purpose"): _disclosure(
        "Recording why they asked (it may name the person)"
    ),
    ("dpo.DisclosureRequest", "lawful_basis_detail"): _disclosure(
        "Recording why a disclosure was lawful"
    ),
    ("public.CaseDraft", "answers"): Declaration(
        "Keeping what a case has typed in the self-service form (symptom onset, places, "
        "contacts) until they submit it",
        PUBLIC_TASK_HEALTH,
        "Deleted when the form is submitted or the link can no longer be used",
        "Nobody but the case, after verifying; staff never see a draft",
    ),
    # Isolation support (confide/support): sealed under the applicant's own key, so erased with
    # them; payment rows keep date, amount and reference only.
    **{
        ("support.SupportApplication", name): Declaration(
            purpose, SUPPORT_PAYMENTS, UNTIL_SWEEP, SUPPORT_OFFICERS
        )
        for name, purpose in (
            ("answers", "Deciding eligibility for a support payment"),
            ("account_name", "Paying the support payment"),
            ("sort_code", "Paying the support payment"),
            ("account_number", "Paying the support payment"),
        )
    },
    ("support.SupportApplication", "bank_account_index"): Declaration(
        "Finding bank details used by more than one applicant (fraud review)",
        SUPPORT_PAYMENTS,
        UNTIL_SWEEP,
        SEARCH_ONLY,
    ),
    ("support.SupportEvidence", "content"): Declaration(
        "Evidence of income or benefit for a support payment",
        SUPPORT_PAYMENTS,
        UNTIL_SWEEP,
        SUPPORT_OFFICERS + " (each viewing logged)",
    ),
    ("support.SupportDecision", "reason"): Declaration(
        "Recording why an application was approved or rejected",
        SUPPORT_PAYMENTS,
        UNTIL_SWEEP,
        SUPPORT_OFFICERS + "; the person, in a copy of their records",
    ),
    ("support.PracticalHelpRequest", "details"): Declaration(
        "Arranging food, medicine or other help while isolating",
        PUBLIC_TASK_HEALTH,
        UNTIL_SWEEP,
        SUPPORT_OFFICERS,
    ),
}


@dataclass(frozen=True)
class ProcessingRecord:
    model: str
    record: str
    field: str
    stored_as: str
    declaration: Declaration | None


def personal_fields_in_code() -> list[tuple[str, str, str]]:
    """(model label, field, how stored) for every sealed or blind-indexed field of every model."""
    found = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            name = getattr(field, "name", "")
            if name.endswith("_sealed"):
                found.append((model._meta.label, name.removesuffix("_sealed"), "sealed"))
            elif (
                name.endswith("_index")
                and isinstance(field, models.CharField)
                and field.max_length == INDEX_HEX_LENGTH
            ):
                found.append((model._meta.label, name, "blind index"))
    return found


def records_of_processing() -> list[ProcessingRecord]:
    records = []
    for label, name, stored_as in personal_fields_in_code():
        declaration = DECLARATIONS.get((label, name))
        if declaration is not None and declaration.retention in _RETENTION_TEXT:
            declaration = Declaration(
                declaration.purpose,
                declaration.lawful_basis,
                _RETENTION_TEXT[declaration.retention](),
                declaration.access,
            )
        records.append(
            ProcessingRecord(
                model=label,
                record=apps.get_model(label)._meta.verbose_name.capitalize(),
                field=name.replace("_", " "),
                stored_as=(
                    "Sealed (AES-256-GCM under the subject's own key)"
                    if stored_as == "sealed"
                    else "Keyed HMAC-SHA256 (blind index)"
                ),
                declaration=declaration,
            )
        )
    return records
