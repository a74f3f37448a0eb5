"""Third-party disclosure requests: refused by default, released only by two different people
one of whom is the DPO, limited to named fields, and never a safeguarded person's location."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.cases.tests.factories import CaseFactory
from confide.dpo.disclosures import (
    DISCLOSABLE_FIELDS,
    LOCATION_FIELDS,
    STANDARD_REFUSAL,
    DisclosureNotAllowed,
    approve_disclosure,
    produce_disclosure,
    record_disclosure_request,
    requester_details,
    second_approve_disclosure,
)
from confide.dpo.models import (
    DisclosureRequest,
    DisclosureStatus,
    LawfulBasis,
    RequesterKind,
)
from confide.dpo.tests.conftest import make_member
from confide.people.details import PersonDetails
from confide.people.models import Person, SafeguardingKind
from confide.people.services import set_safeguarding_flags
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember
from confide.tracing.services import create_setting, record_visit

pytestmark = pytest.mark.django_db

NAME = "Philippa"
ADDRESS = "17 Quillfeather Lane"


def a_person() -> Person:
    return PersonFactory.create(
        details=PersonDetailsFactory.build(given_name=NAME, address=ADDRESS, postcode="SW1A 1AA")
    )


def police_request(
    by: StaffMember, person: Person, fields: list[str] | None = None
) -> DisclosureRequest:
    details = PersonDetails.from_strings({"nhs_number": None, **_details(person)})
    return record_disclosure_request(
        by=by,
        received_at=timezone.now() - timedelta(minutes=5),
        requester_kind=RequesterKind.POLICE,
        organisation="Metropolitan Police",
        requester_name="DC Example",
        requester_contact="dc.example@police.example",
        stated_purpose="Enquiries about a person who tested positive",
        requested_fields=fields or list(DISCLOSABLE_FIELDS),
        nhs_number=details.nhs_number,
    )


def _details(person: Person) -> dict[str, str | None]:
    from confide.people.selectors import person_details

    return person_details(person).as_strings()


def approved(
    request: DisclosureRequest, dpo: StaffMember, second: StaffMember, fields: list[str]
) -> DisclosureRequest:
    approve_disclosure(
        request=request,
        by=dpo,
        lawful_basis=LawfulBasis.COURT_ORDER,
        justification="Order of Westminster Magistrates' Court",
        fields=fields,
    )
    return second_approve_disclosure(request=request, by=second)


def test_a_police_request_is_refused_without_any_action_by_the_dpo(supervisor: StaffMember) -> None:
    person = a_person()

    request = police_request(supervisor, person)

    assert request.status == DisclosureStatus.REFUSED
    assert [s.person for s in request.subjects.all()] == [person]


def test_recording_a_request_logs_the_search_against_the_person_naming_the_request(
    supervisor: StaffMember,
) -> None:
    person = a_person()

    request = police_request(supervisor, person)

    [event] = AccessEvent.objects.filter(subject_reference=person.reference)
    assert event.action == AccessAction.SEARCH
    assert event.actor_reference == supervisor.reference
    assert str(request.reference) in event.purpose
    assert "refused" in event.purpose


def test_what_the_requester_wrote_is_sealed_and_readable_by_the_dpo(
    supervisor: StaffMember,
) -> None:
    request = police_request(supervisor, a_person())

    stored = DisclosureRequest.objects.get(pk=request.pk)

    assert b"DC Example" not in bytes(stored.requester_name_sealed or b"")
    assert requester_details(stored)["requester_name"] == "DC Example"


def test_the_standard_refusal_in_the_docs_is_the_one_confide_uses() -> None:
    docs = (Path(django_settings.BASE_DIR) / "docs" / "dpo.md").read_text()

    assert " ".join(STANDARD_REFUSAL.split()) in " ".join(docs.replace("> ", "").split())


def test_a_request_for_fields_not_on_the_list_is_refused_field_by_field(
    supervisor: StaffMember,
) -> None:
    with pytest.raises(ValidationError) as refused:
        police_request(supervisor, a_person(), fields=["religion"])

    assert "requested_fields" in refused.value.error_dict
    assert not DisclosureRequest.objects.exists()


def test_two_approvals_release_only_the_approved_fields_once_and_log_it(
    supervisor: StaffMember, dpo: StaffMember, administrator: StaffMember
) -> None:
    person = a_person()
    request = approved(police_request(supervisor, person), dpo, administrator, ["given_name"])

    disclosure = produce_disclosure(request=request, by=dpo)

    [released] = disclosure.people
    assert released.values == {"given_name": NAME}
    event = AccessEvent.objects.get(action=AccessAction.DISCLOSE)
    assert event.subject_reference == person.reference
    assert event.actor_reference == dpo.reference
    assert NAME not in event.purpose
    with pytest.raises(DisclosureNotAllowed):
        produce_disclosure(request=request, by=dpo)


def test_nothing_released_is_stored(
    supervisor: StaffMember, dpo: StaffMember, administrator: StaffMember
) -> None:
    request = approved(
        police_request(supervisor, a_person()), dpo, administrator, ["given_name", "address"]
    )

    produce_disclosure(request=request, by=dpo)

    stored = DisclosureRequest.objects.filter(pk=request.pk).values().get()
    text = repr(stored) + repr(list(AccessEvent.objects.values()))
    assert NAME not in text
    assert ADDRESS not in text


def test_the_dpo_can_approve_only_fields_the_requester_asked_for(
    supervisor: StaffMember, dpo: StaffMember
) -> None:
    request = police_request(supervisor, a_person(), fields=["given_name"])

    with pytest.raises(ValidationError):
        approve_disclosure(
            request=request,
            by=dpo,
            lawful_basis=LawfulBasis.COURT_ORDER,
            justification="Order",
            fields=["given_name", "phone"],
        )


def test_an_administrator_cannot_make_the_first_approval(
    supervisor: StaffMember, administrator: StaffMember
) -> None:
    request = police_request(supervisor, a_person())

    with pytest.raises(DisclosureNotAllowed):
        approve_disclosure(
            request=request,
            by=administrator,
            lawful_basis=LawfulBasis.COURT_ORDER,
            justification="Order",
            fields=["given_name"],
        )


# --- properties -----------------------------------------------------------------------------------

OPERATIONS = st.lists(st.sampled_from(["approve", "second", "produce"]), min_size=1, max_size=8)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=OPERATIONS, role=st.sampled_from([Role.DATA_PROTECTION_OFFICER, Role.ADMINISTRATOR])
)
def test_no_sequence_of_approvals_by_one_person_releases_anything(
    supervisor: StaffMember, operations: list[str], role: str
) -> None:
    with transaction.atomic():
        one_person = make_member(role)
        request = police_request(supervisor, a_person())
        released = []
        for operation in operations:
            try:
                if operation == "approve":
                    approve_disclosure(
                        request=request,
                        by=one_person,
                        lawful_basis=LawfulBasis.COURT_ORDER,
                        justification="Order",
                        fields=["given_name"],
                    )
                elif operation == "second":
                    second_approve_disclosure(request=request, by=one_person)
                else:
                    released.append(produce_disclosure(request=request, by=one_person))
            except DisclosureNotAllowed:
                pass
        assert released == []
        assert not AccessEvent.objects.filter(action=AccessAction.DISCLOSE).exists()
        transaction.set_rollback(True)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.sets(st.sampled_from(DISCLOSABLE_FIELDS), min_size=1),
    flags=st.sets(st.sampled_from(SafeguardingKind.values), min_size=1),
    flag_after_approval=st.booleans(),
)
def test_a_safeguarded_persons_location_never_appears_in_a_disclosure(
    supervisor: StaffMember,
    dpo: StaffMember,
    administrator: StaffMember,
    fields: set[str],
    flags: set[str],
    flag_after_approval: bool,
) -> None:
    with transaction.atomic():
        person = a_person()
        today = timezone.localdate()
        case = CaseFactory.create(
            person=person, specimen_date=today - timedelta(days=2), today=today
        )
        home = create_setting(kind="household", address="9 Hidden Row", postcode="EC1A 1BB")
        record_visit(case=case, setting=home, visited_on=today - timedelta(days=3))
        if not flag_after_approval:
            set_safeguarding_flags(person=person, kinds=flags)
        request = approved(
            police_request(supervisor, person, sorted(fields)), dpo, administrator, sorted(fields)
        )
        if flag_after_approval:
            set_safeguarding_flags(person=person, kinds=flags)

        disclosure = produce_disclosure(request=request, by=dpo)

        [released] = disclosure.people
        assert not (set(released.values) & LOCATION_FIELDS)
        text = repr(disclosure.as_json())
        for location in (ADDRESS, "SW1A", "9 Hidden Row", "EC1A"):
            assert location not in text
        assert set(released.withheld) == fields & LOCATION_FIELDS
        transaction.set_rollback(True)


def test_an_unflagged_persons_location_is_released_when_approved(
    supervisor: StaffMember, dpo: StaffMember, administrator: StaffMember
) -> None:
    person = a_person()
    today = timezone.localdate()
    case = CaseFactory.create(person=person, specimen_date=today - timedelta(days=2), today=today)
    school = create_setting(kind="school", name="Hill Primary", postcode="EC1A 1BB")
    record_visit(case=case, setting=school, visited_on=today - timedelta(days=3))
    fields = ["address", "settings_visited"]
    request = approved(police_request(supervisor, person, fields), dpo, administrator, fields)

    [released] = produce_disclosure(request=request, by=dpo).people

    assert released.values["address"] == ADDRESS
    visits = released.values["settings_visited"]
    assert isinstance(visits, list)
    assert [visit["name"] for visit in visits] == ["Hill Primary"]
