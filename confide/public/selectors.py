"""What the public pages show. A contact's page is built from their own exposure's dates only:
the case is never read here, so nothing of theirs (name, test or specimen date, the place) can
reach the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from confide.people.models import Person
from confide.privacy.audit import Access, record_access
from confide.privacy.models import AccessAction
from confide.public.access import PublicVisitor
from confide.tracing.models import Exposure, FollowUp, FollowUpStatus


@dataclass(frozen=True)
class ContactPage:
    exposure_id: int
    isolation_ends_on: date
    days_left: int
    checked_in_today: bool


def contact_page(visitor: PublicVisitor, *, today: date | None = None) -> ContactPage:
    """The verified contact's own isolation details (logged as a view of their record)."""
    today = today or timezone.localdate()
    if visitor.role != "contact" or visitor.exposure_id is None:
        raise PermissionError("not a contact")
    # Only the exposure's own columns: the case, its dates and the setting are never loaded.
    exposure = Exposure.objects.only("pk", "contact_id", "isolation_ends_on").get(
        pk=visitor.exposure_id, contact_id=visitor.person_id
    )
    person = Person.objects.only("reference").get(pk=visitor.person_id)
    record_access(
        Access(
            action=AccessAction.VIEW,
            purpose="shown to the contact: their own isolation page",
            subject_reference=person.reference,
            object_type="exposure",
            object_reference=str(exposure.pk),
        )
    )
    checked_in = FollowUp.objects.filter(
        exposure_id=exposure.pk, due_on=today, status=FollowUpStatus.DONE
    ).exists()
    return ContactPage(
        exposure_id=exposure.pk,
        isolation_ends_on=exposure.isolation_ends_on,
        days_left=max((exposure.isolation_ends_on - today).days, 0),
        checked_in_today=checked_in,
    )
