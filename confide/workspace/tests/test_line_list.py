"""The supervisor's line list: one row per case with its dates and counts, nothing that
identifies anyone, streamed, and logged as an export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from confide.cases.models import Case
from confide.people.details import PersonDetails
from confide.people.services import create_person
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember
from confide.tracing.models import Proximity
from confide.tracing.services import record_exposure
from confide.workspace.line_list import HEADER
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(make_staff: StaffMaker) -> StaffMember:
    return make_staff(Role.SUPERVISOR)


@pytest.fixture
def supervisor_client(supervisor: StaffMember) -> Client:
    return sign_in(Client(), supervisor)


def download(client: Client) -> list[dict[str, str]]:
    response = client.get("/supervise/line-list.csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return list(csv.DictReader(io.StringIO(text)))


def test_the_line_list_has_a_row_per_case_with_its_contact_count(
    supervisor_client: Client, case: Case
) -> None:
    contact = create_person(details=PersonDetails(given_name="Ottoline", family_name="Quenby"))
    record_exposure(
        case=case,
        contact=contact,
        last_contact=case.specimen_date,
        proximity=Proximity.HOUSEHOLD,
        today=case.specimen_date,
        notify=False,
    )
    rows = download(supervisor_client)
    assert list(rows[0]) == list(HEADER)
    assert [(r["case_reference"], r["contacts_named"]) for r in rows] == [
        (str(case.reference), "1")
    ]
    assert rows[0]["specimen_date"] == case.specimen_date.isoformat()


def test_the_line_list_names_nobody(supervisor_client: Client, case: Case) -> None:
    text = str(download(supervisor_client))
    assert "Quillfeather" not in text  # the case fixture's names
    assert str(case.person.reference) not in text


def test_each_download_is_logged_as_an_export_by_its_supervisor(
    supervisor_client: Client, supervisor: StaffMember, case: Case
) -> None:
    download(supervisor_client)
    event = AccessEvent.objects.get(action=AccessAction.EXPORT, object_type="line_list")
    assert event.actor_reference == supervisor.reference
    assert event.subject_reference is None


def test_tracers_cannot_download_the_line_list(clinician_client: Client) -> None:
    assert clinician_client.get("/supervise/line-list.csv").status_code == 403


def test_an_empty_service_downloads_just_the_header(supervisor_client: Client) -> None:
    assert download(supervisor_client) == []
