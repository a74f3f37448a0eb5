"""No page gives personal data to a member of staff without in-date data-protection training.

Walks every URL the workspace serves, for an untrained tracer who (somehow) holds an item and
an untrained supervisor, with GET and POST, and looks for any personal detail in the answers.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import URLPattern
from django.utils import timezone

from confide.cases.models import Case
from confide.people.details import PersonDetails
from confide.people.selectors import person_details
from confide.privacy.models import AccessEvent
from confide.staff.models import Role, StaffMember
from confide.staff.services import staff_contact_details
from confide.tracing.models import Proximity
from confide.tracing.services import record_exposure
from confide.workqueue.models import WorkItem, WorkState
from confide.workspace import urls
from confide.workspace.selectors import phone_for_display
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


def personal_strings(details: PersonDetails) -> list[str]:
    values = [
        details.given_name,
        details.family_name,
        details.phone,
        details.phone.replace("+44", "0"),
        phone_for_display(details.phone),
        details.email,
        details.address,
        details.postcode,
        details.nhs_number,
    ]
    if details.date_of_birth:
        values.append(f"{details.date_of_birth:%-d %B %Y}")
    return [v for v in values if v and len(v) > 2]


def workspace_paths(item_id: int) -> list[str]:
    paths = []
    for pattern in urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        paths.append("/" + route.replace("<int:item_id>", str(item_id)))
    return paths


def post_data(item_id: int, contact: PersonDetails, today: date) -> dict[str, str]:
    """Something plausible for every form, so a view that wrongly let it through would act."""
    return {
        "call-outcome": "completed",
        "complete-outcome": "contacts",
        "given_name": "Zebedee",
        "phone": contact.phone,
        "proximity": Proximity.CLOSE,
        "last_contact_day": str(today.day),
        "last_contact_month": str(today.month),
        "last_contact_year": str(today.year),
        "kind": "workplace",
        "name": "Somewhere",
        "postcode": "M1 1AE",
        "visited_on_day": str(today.day),
        "visited_on_month": str(today.month),
        "visited_on_year": str(today.year),
        "to_tier": "1",
        "reason": "test",
        f"item-{item_id}-to": "x",
        "nhs_number": contact.nhs_number,
        "email": contact.email,
        "purpose": "test",
    }


@pytest.fixture
def held_by_untrained(make_staff: StaffMaker, interview: WorkItem) -> tuple[StaffMember, WorkItem]:
    tracer = make_staff(Role.CLINICIAN, trained=False)
    WorkItem.objects.filter(pk=interview.pk).update(
        state=WorkState.CLAIMED, claimed_by=tracer, claimed_at=timezone.now()
    )
    assert interview.case_id is not None
    Case.objects.filter(pk=interview.case_id).update(status="assigned", assigned_to=tracer)
    return tracer, interview


def test_untrained_staff_get_no_personal_data_on_any_workspace_page(
    held_by_untrained: tuple[StaffMember, WorkItem],
    make_staff: StaffMaker,
    case: Case,
    today: date,
):
    tracer, item = held_by_untrained
    from confide.people.tests.factories import PersonDetailsFactory, PersonFactory

    contact = PersonFactory.create(
        details=PersonDetailsFactory.build(given_name="Oriabel", family_name="Thistlewood")
    )
    record_exposure(
        case=case, contact=contact, last_contact=today - timedelta(days=1), proximity="close"
    )
    secrets = personal_strings(person_details(case.person)) + personal_strings(
        person_details(contact)
    )
    secrets.append(staff_contact_details(tracer)["display_name"] or "")
    supervisor = make_staff(Role.SUPERVISOR, trained=False)
    events_before = AccessEvent.objects.count()
    paths = workspace_paths(item.pk)
    assert len(paths) == len(urls.urlpatterns) >= 12

    for member in (tracer, supervisor):
        client = sign_in(Client(), member)
        for path in paths:
            for response in (
                client.get(path, follow=True),
                client.post(path, post_data(item.pk, person_details(contact), today), follow=True),
            ):
                assert response.status_code in (200, 403, 404, 405), path
                html = response.content.decode()
                for secret in secrets:
                    assert secret not in html, f"{path} showed personal data to {member.role}"

    assert AccessEvent.objects.count() == events_before
    item.refresh_from_db()
    assert item.state == WorkState.CLAIMED
    assert not item.calls.exists()


def test_an_untrained_tracer_is_told_to_complete_training_first(make_staff: StaffMaker):
    client = sign_in(Client(), make_staff(Role.CALL_HANDLER, trained=False))

    html = client.get("/work/").content.decode()

    assert "Complete your data protection training first" in html
    assert "Get the next" not in html
    assert client.post("/work/next/").status_code == 403


def test_expired_training_counts_as_no_training(make_staff: StaffMaker, today: date):
    from confide.staff.models import Course
    from confide.staff.services import record_training

    member = make_staff(Role.CLINICIAN, trained=False)
    record_training(
        staff_member=member,
        course=Course.DATA_PROTECTION,
        completed_on=today - timedelta(days=400),
        recorded_by=None,
    )
    client = sign_in(Client(), member)

    assert "Complete your data protection training first" in client.get("/work/").content.decode()
