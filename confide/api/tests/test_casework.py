"""Cases, contacts and people lookup over the API, within the client's entitlement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from confide.api.tests.conftest import Caller, MakeCaller
from confide.cases.models import Case, CaseStatus
from confide.cases.tests.factories import CaseFactory
from confide.messaging.models import Message
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Tier
from confide.tracing.models import Exposure
from confide.workqueue.models import WorkItem, WorkState

pytestmark = pytest.mark.django_db


def _person_json(**overrides: object) -> dict[str, object]:
    details = PersonDetailsFactory.build()
    person = {
        "given_name": details.given_name,
        "family_name": details.family_name,
        "date_of_birth": str(details.date_of_birth),
        "nhs_number": details.nhs_number,
        "email": details.email,
        "postcode": details.postcode,
    }
    return {**person, **overrides}


def _recent() -> str:
    return (timezone.localdate() - timedelta(days=2)).isoformat()


def _events(caller: Caller) -> list[AccessEvent]:
    return list(
        AccessEvent.objects.filter(actor_reference=caller.client.reference).order_by("sequence")
    )


# --- create and read ---------------------------------------------------------------------------


def test_a_case_for_a_described_person_is_opened_and_queued(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write", "cases:read")
    response = caller.post("/api/cases", {"person": _person_json(), "specimen_date": _recent()})
    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert body["status"] == "new"
    assert body["person"] is None
    assert WorkItem.objects.filter(case=case, state=WorkState.WAITING).exists()
    assert [(e.action, e.subject_reference) for e in _events(caller)] == [
        (AccessAction.CREATE, case.person.reference)
    ]


def test_a_case_for_a_known_person_uses_their_reference(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    person = PersonFactory.create()
    response = caller.post(
        "/api/cases", {"person_reference": str(person.reference), "specimen_date": _recent()}
    )
    assert response.status_code == 201
    assert response.json()["person_reference"] == str(person.reference)


def test_a_described_person_we_hold_is_matched_not_duplicated(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    person = PersonFactory.create()
    from confide.people.selectors import person_details

    nhs = person_details(person).nhs_number
    response = caller.post(
        "/api/cases",
        {"person": _person_json(nhs_number=nhs), "specimen_date": _recent()},
    )
    assert response.json()["person_reference"] == str(person.reference)


def test_a_case_needs_exactly_one_way_of_naming_the_person(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    response = caller.post("/api/cases", {"specimen_date": _recent()})
    assert response.status_code == 422
    assert response.json()["type"] == "urn:confide:problem:validation"


def test_an_unknown_person_reference_is_not_found(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    response = caller.post(
        "/api/cases",
        {"person_reference": "00000000-0000-4000-8000-000000000000", "specimen_date": _recent()},
    )
    assert response.status_code == 404


def test_a_client_cannot_open_a_case_in_a_tier_it_is_not_entitled_to(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("cases:write", tiers=(Tier.CLINICAL,))
    response = caller.post(
        "/api/cases",
        {"person": _person_json(), "specimen_date": _recent(), "tier": Tier.CALL_HANDLING},
    )
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_reading_a_case_gives_status_and_dates_but_no_person_details(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("cases:read")
    case = CaseFactory.create()
    body = caller.get(f"/api/cases/{case.reference}").json()
    assert body["status"] == "new"
    assert body["infectious_from"] == case.infectious_from.isoformat()
    assert body["person"] is None
    assert [(e.action, e.subject_reference) for e in _events(caller)] == [
        (AccessAction.VIEW, case.person.reference)
    ]


def test_people_read_adds_the_persons_details_and_logs_it(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:read", "people:read")
    case = CaseFactory.create()
    body = caller.get(f"/api/cases/{case.reference}").json()
    assert body["person"]["given_name"]
    assert "with the person's details" in _events(caller)[0].purpose


def test_a_case_in_another_tier_is_not_found(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:read", tiers=(Tier.CALL_HANDLING,))
    case = CaseFactory.create()  # tier 2
    response = caller.get(f"/api/cases/{case.reference}")
    assert response.status_code == 404
    assert not _events(caller)


# --- lists -------------------------------------------------------------------------------------


def test_cases_are_listed_a_bounded_page_at_a_time(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:read")
    cases = [CaseFactory.create() for _ in range(5)]
    first = caller.get("/api/cases?limit=2").json()
    second = caller.get(f"/api/cases?limit=2&after={first['next']}").json()
    third = caller.get(f"/api/cases?limit=2&after={second['next']}").json()
    listed = [c["reference"] for c in first["items"] + second["items"] + third["items"]]
    assert listed == [str(c.reference) for c in cases]
    assert third["next"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=x", "after=not-a-cursor"])
def test_a_page_outside_the_bounds_is_refused(make_caller: MakeCaller, query: str) -> None:
    caller = make_caller("cases:read")
    response = caller.get(f"/api/cases?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in {"limit", "after"}


def test_the_list_holds_only_entitled_cases(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:read", tiers=(Tier.LOCAL_HEALTH_PROTECTION,))
    CaseFactory.create()  # tier 2
    mine = CaseFactory.create(tier=Tier.LOCAL_HEALTH_PROTECTION)
    body = caller.get("/api/cases").json()
    assert [c["reference"] for c in body["items"]] == [str(mine.reference)]


# --- status ------------------------------------------------------------------------------------


def test_closing_a_case_records_the_transition_and_cancels_its_interview(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("cases:write", "cases:read")
    created = caller.post(
        "/api/cases", {"person": _person_json(), "specimen_date": _recent()}
    ).json()
    response = caller.patch(
        f"/api/cases/{created['reference']}", {"status": "closed", "reason": "void result"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    case = Case.objects.get(reference=created["reference"])
    assert case.transitions.get().reason == "void result"
    assert not WorkItem.objects.filter(case=case, state=WorkState.WAITING).exists()


def test_escalating_a_case_moves_it_to_the_tiers_queue(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write", tiers=(Tier.CLINICAL, Tier.LOCAL_HEALTH_PROTECTION))
    case = CaseFactory.create()
    response = caller.patch(
        f"/api/cases/{case.reference}",
        {"status": "escalated", "reason": "care home", "tier": Tier.LOCAL_HEALTH_PROTECTION},
    )
    assert response.status_code == 200
    assert response.json()["tier"] == Tier.LOCAL_HEALTH_PROTECTION
    assert WorkItem.objects.get(case=case, state=WorkState.WAITING).tier == 1


def test_a_move_the_state_machine_forbids_is_a_conflict(make_caller: MakeCaller) -> None:
    caller = make_caller("cases:write")
    case = CaseFactory.create()
    caller.patch(f"/api/cases/{case.reference}", {"status": "closed", "reason": "void"})
    response = caller.patch(f"/api/cases/{case.reference}", {"status": "closed", "reason": "x"})
    assert response.status_code == 409
    assert response.json()["type"] == "urn:confide:problem:transition-not-allowed"


# --- contacts ----------------------------------------------------------------------------------


def test_adding_a_contact_links_them_and_queues_their_notification(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("contacts:write")
    case = CaseFactory.create(
        specimen_date=timezone.localdate() - timedelta(days=2), today=timezone.localdate()
    )
    response = caller.post(
        f"/api/cases/{case.reference}/contacts",
        {
            "person": _person_json(),
            "last_contact": (timezone.localdate() - timedelta(days=1)).isoformat(),
            "proximity": "household",
        },
    )
    assert response.status_code == 201, response.content
    exposure = Exposure.objects.get(case=case)
    assert str(exposure.contact.reference) == response.json()["contact_reference"]
    assert Message.objects.filter(person=exposure.contact).exists()
    assert (AccessAction.CREATE, exposure.contact.reference) in [
        (e.action, e.subject_reference) for e in _events(caller)
    ]


def test_a_contact_outside_the_infectious_period_is_refused_by_field(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("contacts:write")
    case = CaseFactory.create()  # infectious January 2021
    response = caller.post(
        f"/api/cases/{case.reference}/contacts",
        {"person": _person_json(), "last_contact": "2020-06-01", "proximity": "close"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["last_contact"]
    assert not Exposure.objects.exists()


# --- people lookup -----------------------------------------------------------------------------


def test_lookup_by_nhs_number_gives_references_and_case_status_only(
    make_caller: MakeCaller,
) -> None:
    caller = make_caller("people:lookup")
    case = CaseFactory.create()
    from confide.people.selectors import person_details

    nhs = person_details(case.person).nhs_number
    response = caller.post("/api/people/lookup", {"nhs_number": nhs})
    assert response.status_code == 200
    assert response.json() == {
        "people": [
            {
                "reference": str(case.person.reference),
                "cases": [{"reference": str(case.reference), "status": CaseStatus.NEW}],
            }
        ]
    }
    assert [(e.action, e.subject_reference) for e in _events(caller)] == [
        (AccessAction.SEARCH, case.person.reference)
    ]


def test_a_lookup_that_finds_no_one_is_logged_too(make_caller: MakeCaller) -> None:
    caller = make_caller("people:lookup")
    response = caller.post("/api/people/lookup", {"nhs_number": "9434765919"})
    assert response.json() == {"people": []}
    assert [(e.action, e.subject_reference) for e in _events(caller)] == [
        (AccessAction.SEARCH, None)
    ]


def test_an_invalid_nhs_number_is_refused_without_echoing_it(make_caller: MakeCaller) -> None:
    caller = make_caller("people:lookup")
    response = caller.post("/api/people/lookup", {"nhs_number": "1234567890"})
    assert response.status_code == 422
    assert "1234567890" not in response.content.decode()
    assert response.json()["errors"][0]["field"] == "nhs_number"
