"""The isolation period a verified visitor is in: a contact's exposure or a case's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from confide.cases.models import Case
from confide.dpo.retention import case_isolation_ends_on
from confide.people.models import Person
from confide.public.access import PublicVisitor
from confide.tracing.models import Exposure


@dataclass(frozen=True)
class IsolationPeriod:
    person: Person
    exposure: Exposure | None
    case: Case | None
    starts_on: date
    ends_on: date

    def claim_closes_on(self) -> date:
        return self.starts_on + timedelta(days=settings.CONFIDE_SUPPORT_CLAIM_WINDOW_DAYS)

    def open_for_claims(self, *, today: date) -> bool:
        return today <= self.claim_closes_on()


def isolation_period_for(visitor: PublicVisitor) -> IsolationPeriod | None:
    """The visitor's period, or None if it does not belong to them (or they were erased)."""
    person = (
        Person.objects.filter(pk=visitor.person_id, erased_at__isnull=True)
        .select_related("data_key")
        .first()
    )
    if person is None:
        return None
    if visitor.role == "contact" and visitor.exposure_id is not None:
        exposure = Exposure.objects.filter(pk=visitor.exposure_id, contact=person).first()
        if exposure is None:
            return None
        # Told to isolate from their last contact with the case to the end date they were sent.
        return IsolationPeriod(
            person, exposure, None, exposure.last_contact_on, exposure.isolation_ends_on
        )
    if visitor.role == "case" and visitor.case_id is not None:
        case = Case.objects.filter(pk=visitor.case_id, person=person).select_related("policy")
        found = case.first()
        if found is None:
            return None
        starts = found.symptom_onset or found.specimen_date
        return IsolationPeriod(person, None, found, starts, case_isolation_ends_on(found))
    return None
