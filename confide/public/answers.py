"""A case's own answers: saved as a sealed draft between visits, then submitted through the
same services a tracer's entry uses (record_setting_visit, record_named_contact), so each
contact gets their own notification and nothing is a copy of the tracer's path."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from confide.cases.models import Case
from confide.cases.policy import infectious_period
from confide.cases.services import validate_case_dates
from confide.people.details import PersonDetails, validate_person_details
from confide.people.models import Person
from confide.privacy.audit import Access, record_access
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.models import AccessAction
from confide.public.models import CaseDraft, LinkKind, SelfServiceLink
from confide.tracing.services import record_named_contact, record_setting_visit

DRAFT_FIELD = "public.case_draft"
MAX_CONTACTS = 50
MAX_PLACES = 30


@dataclass
class PlaceAnswer:
    kind: str
    name: str
    postcode: str
    visited_on: str  # ISO date


@dataclass
class ContactAnswer:
    given_name: str
    family_name: str
    phone: str
    email: str
    last_contact: str  # ISO date
    proximity: str


@dataclass
class CaseAnswers:
    symptoms: str = ""  # "yes", "no" or "" (not answered yet)
    symptom_onset: str = ""  # ISO date when symptoms == "yes"
    places: list[PlaceAnswer] = field(default_factory=list)
    contacts: list[ContactAnswer] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: str) -> CaseAnswers:
        values: dict[str, Any] = json.loads(raw)
        return cls(
            symptoms=values.get("symptoms", ""),
            symptom_onset=values.get("symptom_onset", ""),
            places=[PlaceAnswer(**p) for p in values.get("places", [])],
            contacts=[ContactAnswer(**c) for c in values.get("contacts", [])],
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _case_link(link: SelfServiceLink) -> Case:
    if link.kind != LinkKind.CASE or link.case is None:
        raise ValueError("only a case's link has answers")
    return link.case


def load_answers(*, link: SelfServiceLink) -> CaseAnswers:
    """The case's saved answers (logged: they hold the contacts' details the case typed)."""
    case = _case_link(link)
    draft = CaseDraft.objects.select_related("data_key").filter(link=link).first()
    if draft is None:
        return CaseAnswers()
    raw = unwrap_data_key(draft.data_key).open(DRAFT_FIELD, draft.answers_sealed)
    record_access(
        Access(
            action=AccessAction.VIEW,
            purpose="shown to the case: their own saved self-service answers",
            subject_reference=case.person.reference,
            object_type="case",
            object_reference=str(case.reference),
        )
    )
    return CaseAnswers.from_json(raw) if raw else CaseAnswers()


def save_answers(*, link: SelfServiceLink, answers: CaseAnswers) -> None:
    """Seal the answers under the case's own data key (erasing them erases the draft too)."""
    person: Person = _case_link(link).person
    key = unwrap_data_key(person.data_key)
    sealed = key.seal(DRAFT_FIELD, answers.to_json())
    with transaction.atomic():
        CaseDraft.objects.update_or_create(
            link=link, defaults={"data_key": person.data_key, "answers_sealed": sealed}
        )


class TooManyAnswers(Exception):
    """The draft already holds as many places (or contacts) as can be added online."""


def add_place(*, link: SelfServiceLink, place: PlaceAnswer) -> None:
    """Add a place the case visited to their draft, unless it is full (`TooManyAnswers`)."""
    answers = load_answers(link=link)
    if len(answers.places) >= MAX_PLACES:
        raise TooManyAnswers
    answers.places.append(place)
    save_answers(link=link, answers=answers)


def add_contact(*, link: SelfServiceLink, contact: ContactAnswer, today: date) -> None:
    """Add a contact to the case's draft: checked as submitting will check it (ValidationError
    naming the fields), and refused when the draft is full (`TooManyAnswers`)."""
    answers = load_answers(link=link)
    check_contact(contact, case=_case_link(link), today=today)
    if len(answers.contacts) >= MAX_CONTACTS:
        raise TooManyAnswers
    answers.contacts.append(contact)
    save_answers(link=link, answers=answers)


def check_contact(answer: ContactAnswer, *, case: Case, today: date) -> None:
    """The checks record_named_contact will make, run when the contact is added to the draft,
    so the case hears about a problem on the page where they can fix it."""
    errors: dict[str, list[str]] = {}
    try:
        validate_person_details(_details(answer), today=today)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not (answer.phone or answer.email):
        errors.setdefault("phone", []).append("Enter a phone number or an email address, or both")
    if errors:
        raise ValidationError(errors)


def _details(answer: ContactAnswer) -> PersonDetails:
    return PersonDetails(
        given_name=answer.given_name,
        family_name=answer.family_name,
        phone=answer.phone,
        email=answer.email,
    )


class SubmissionError(Exception):
    """One answer could not be saved; nothing was (the whole submission is one transaction)."""

    def __init__(self, section: str, index: int, messages: list[str]) -> None:
        super().__init__(f"{section} {index}")
        self.section = section  # "symptoms", "places" or "contacts"
        self.index = index
        self.messages = messages


def _set_symptom_onset(case: Case, onset: date | None, today: date) -> None:
    """A case who reports symptoms moves their infectious period to the onset, as a tracer's
    interview would (England 2020: 2 days before onset)."""
    if onset == case.symptom_onset:
        return
    validate_case_dates(
        specimen_date=case.specimen_date, symptom_onset=onset, date_of_birth=None, today=today
    )
    period = infectious_period(
        policy=case.policy, specimen_date=case.specimen_date, symptom_onset=onset
    )
    case.symptom_onset = onset
    case.infectious_from = period.starts_on
    case.infectious_until = period.ends_on
    case.save(update_fields=["symptom_onset", "infectious_from", "infectious_until"])


def _messages(exc: ValidationError) -> list[str]:
    return [m for messages in exc.message_dict.values() for m in messages]


def submit_answers(*, link: SelfServiceLink, today: date | None = None) -> Case:
    """Record the draft through the tracer's services, spend the link and drop the draft.

    Raises SubmissionError (saving nothing) naming the first answer that cannot be saved.
    """
    today = today or timezone.localdate()
    answers = load_answers(link=link)
    with transaction.atomic():
        locked = SelfServiceLink.objects.select_for_update().get(pk=link.pk)
        if locked.spent_at is not None:
            raise SubmissionError("link", 0, ["These answers have already been sent"])
        case = (
            Case.objects.select_for_update()
            .select_related("policy", "person")
            .get(pk=_case_link(link).pk)
        )
        onset = date.fromisoformat(answers.symptom_onset) if answers.symptoms == "yes" else None
        try:
            _set_symptom_onset(case, onset, today)
        except ValidationError as exc:
            raise SubmissionError("symptoms", 0, _messages(exc)) from exc
        for index, place in enumerate(answers.places):
            try:
                record_setting_visit(
                    case=case,
                    kind=place.kind,
                    name=place.name,
                    postcode=place.postcode,
                    visited_on=date.fromisoformat(place.visited_on),
                )
            except ValidationError as exc:
                raise SubmissionError("places", index, _messages(exc)) from exc
        for index, contact in enumerate(answers.contacts):
            try:
                record_named_contact(
                    case=case,
                    details=_details(contact),
                    last_contact=date.fromisoformat(contact.last_contact),
                    proximity=contact.proximity,
                    by=None,
                    today=today,
                )
            except ValidationError as exc:
                raise SubmissionError("contacts", index, _messages(exc)) from exc
        locked.spent_at = timezone.now()
        locked.save(update_fields=["spent_at"])
        CaseDraft.objects.filter(link=link).delete()
        record_access(
            Access(
                action=AccessAction.CREATE,
                purpose=(
                    f"case gave {len(answers.contacts)} contacts and "
                    f"{len(answers.places)} places online"
                ),
                subject_reference=case.person.reference,
                object_type="case",
                object_reference=str(case.reference),
            )
        )
    return case
