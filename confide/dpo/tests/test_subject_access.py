"""Subject access: the export holds the person's own data and access history and nothing of the
case who named them; rectification; erasure where the law allows."""

from __future__ import annotations

import json
import string
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.dpo.detectors import detect_bulk_exports
from confide.dpo.disclosures import record_disclosure_request
from confide.dpo.models import Breach, RequesterKind, SubjectAccessRequest, VerificationMethod
from confide.dpo.subject_access import (
    MASKED_REFERENCE,
    ErasureNotAllowed,
    SubjectNotFound,
    erase_subject,
    erasure_refusal,
    record_subject_access_request,
    rectify_subject,
    subject_access_export,
)
from confide.dpo.tests.conftest import make_member, sign_in
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import person_details, read_person
from confide.people.services import PersonErased, set_safeguarding_flag
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.privacy.audit import Access, record_access
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.keys import DataKeyDestroyed
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role, StaffMember
from confide.tracing.models import Proximity, SettingKind
from confide.tracing.services import create_setting, record_exposure, record_visit

pytestmark = pytest.mark.django_db


def _case_naming(contact: Person, *, today: date, **case: object) -> Case:
    opened = CaseFactory.create(specimen_date=today - timedelta(days=2), today=today, **case)
    record_exposure(
        case=opened,
        contact=contact,
        last_contact=today - timedelta(days=2),
        proximity=Proximity.CLOSE,
        today=today,
    )
    return opened


def _request_for(person: Person, dpo: StaffMember) -> SubjectAccessRequest:
    return record_subject_access_request(
        by=dpo,
        verification=VerificationMethod.PHOTO_ID_IN_PERSON,
        nhs_number=person_details(person).nhs_number,
    )


def test_the_export_holds_the_persons_own_details_cases_and_access_history(
    dpo: StaffMember,
) -> None:
    today = timezone.localdate()
    person = PersonFactory.create(
        details=PersonDetailsFactory.build(given_name="Philippa", family_name="Oyelaran")
    )
    case = CaseFactory.create(person=person, specimen_date=today - timedelta(days=1), today=today)
    setting = create_setting(kind=SettingKind.WORKPLACE, name="Quillfeather Printers")
    record_visit(case=case, setting=setting, visited_on=today - timedelta(days=1))
    set_safeguarding_flag(person=person, kind="risk_from_household")
    tracer = make_member(Role.CLINICIAN)
    read_person(person, by=tracer, purpose="case interview")
    request = _request_for(person, dpo)

    export = subject_access_export(request=request, by=dpo, file_format="JSON").content

    assert export["person"]["details"]["Last name"] == "Oyelaran"
    assert export["cases"][0]["reference"] == str(case.reference)
    assert export["cases"][0]["places_visited"][0]["name"] == "Quillfeather Printers"
    assert export["safeguarding_flags"][0]["flag"].startswith("At risk from someone")
    history = export["access_history"]
    assert {"action": "Viewed", "by": "A member of staff: clinician (tier 2)"}.items() <= (
        next(e for e in history if e["purpose"] == "case interview").items()
    )
    assert any(e["action"] == "Searched" and "identity verified" in e["purpose"] for e in history)
    assert any(e["action"] == "Exported" for e in history), "the export records itself"


def test_a_police_request_is_refused_logged_and_appears_in_the_persons_export(
    dpo: StaffMember, supervisor: StaffMember
) -> None:
    person = PersonFactory.create()
    police = record_disclosure_request(
        by=supervisor,
        received_at=timezone.now(),
        requester_kind=RequesterKind.POLICE,
        organisation="A police force",
        requester_name="",
        requester_contact="",
        stated_purpose="Enquiries",
        requested_fields=["address"],
        nhs_number=person_details(person).nhs_number,
    )

    export = subject_access_export(
        request=_request_for(person, dpo), by=dpo, file_format="JSON"
    ).content

    assert export["requests_from_others"] == [
        {
            "reference": str(police.reference),
            "received": police.received_at.isoformat(timespec="seconds"),
            "from": "A police force (Police)",
            "status": "Refused",
            "disclosed": None,
        }
    ]
    assert any(
        str(police.reference) in e["purpose"] and "refused" in e["purpose"]
        for e in export["access_history"]
    )


def test_staff_appear_by_role_and_connected_systems_by_name_never_staff_names(
    dpo: StaffMember,
) -> None:
    person = PersonFactory.create()
    tracer = make_member(Role.CALL_HANDLER)
    read_person(person, by=tracer, purpose="contact call")

    response = sign_in(dpo).get(f"/dpo/subject-access/{_request_for(person, dpo).reference}/")

    page = response.content.decode()
    assert "A member of staff: call handler (tier 3)" in page
    assert str(tracer.reference) not in page


def test_several_exports_of_one_person_do_not_trip_the_bulk_export_detector(
    dpo: StaffMember,
) -> None:
    person = PersonFactory.create()
    request = _request_for(person, dpo)
    client = sign_in(dpo)

    for _ in range(25):
        client.get(f"/dpo/subject-access/{request.reference}/export.json")
    detect_bulk_exports(now=timezone.now())

    exports = AccessEvent.objects.filter(action=AccessAction.EXPORT)
    assert exports.count() == 25
    assert set(exports.values_list("subject_reference", flat=True)) == {person.reference}
    assert not Breach.objects.exists()


def test_the_search_must_find_exactly_one_person(dpo: StaffMember) -> None:
    with pytest.raises(SubjectNotFound, match="no record"):
        record_subject_access_request(
            by=dpo, verification=VerificationMethod.NHS_LOGIN, nhs_number="9434765919"
        )
    assert not SubjectAccessRequest.objects.exists()
    with pytest.raises(ValidationError) as refused:
        record_subject_access_request(by=dpo, verification="", nhs_number="9434765919")
    assert set(refused.value.message_dict) == {"verification"}


# --- the case who named a contact never appears in the contact's export -------------------------

name = st.text(alphabet=string.ascii_lowercase, min_size=8, max_size=12).map(str.capitalize)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case_given=name,
    case_family=name,
    place_name=name,
    street=name,
    contacts=st.integers(min_value=1, max_value=3),
    at_the_place=st.booleans(),
    proximity=st.sampled_from(Proximity.values),
    symptomatic=st.booleans(),
)
def test_no_detail_of_the_naming_case_appears_in_a_contacts_export(
    dpo: StaffMember,
    case_given: str,
    case_family: str,
    place_name: str,
    street: str,
    contacts: int,
    at_the_place: bool,
    proximity: str,
    symptomatic: bool,
) -> None:
    today = timezone.localdate()
    case_person = PersonFactory.create(
        details=PersonDetailsFactory.build(
            given_name=case_given, family_name=case_family, address=f"{street} House"
        )
    )
    case = CaseFactory.create(
        person=case_person,
        specimen_date=today - timedelta(days=3),
        symptom_onset=today - timedelta(days=4) if symptomatic else None,
        today=today,
    )
    place = create_setting(kind=SettingKind.VENUE, name=place_name, address=f"{street} Arcade")
    record_visit(case=case, setting=place, visited_on=today - timedelta(days=3))
    tracer = make_member(Role.CLINICIAN)
    named = [PersonFactory.create() for _ in range(contacts)]
    for contact in named:
        record_exposure(
            case=case,
            contact=contact,
            last_contact=today - timedelta(days=3),
            proximity=proximity,
            setting=place if at_the_place else None,
            today=today,
        )
        read_person(contact, by=tracer, purpose="case interview: contacts the case named")
        # An entry whose purpose and object name the case (as an integration might write).
        record_access(
            Access(
                action=AccessAction.VIEW,
                purpose=f"case {case.reference}: contact called",
                actor_reference=tracer.reference,
                subject_reference=contact.reference,
                object_type="case",
                object_reference=str(case.reference),
            )
        )
    contact = named[0]
    own = person_details(contact)
    case_details = person_details(case_person)
    secrets = {
        str(case.reference),
        str(case_person.reference),
        case_details.given_name,
        case_details.family_name,
        case_details.nhs_number,
        case_details.phone,
        case_details.email,
        case_details.address,
        place_name,
        f"{street} Arcade",
    }
    # Values the contact shares with the case (a household's postcode) are their own data too.
    secrets -= set(own.as_strings().values())
    request = _request_for(contact, dpo)
    client = sign_in(dpo)

    page = client.get(f"/dpo/subject-access/{request.reference}/").content.decode()
    download = client.get(f"/dpo/subject-access/{request.reference}/export.json")
    exported = download.content

    assert own.nhs_number in page, "the contact's own details are in the export"
    assert any(MASKED_REFERENCE in e["purpose"] for e in json.loads(exported)["access_history"])
    for secret in secrets:
        assert secret not in page, "the HTML export names the case that named the contact"
        assert secret.encode() not in exported, "the JSON export names the case"
        assert json.dumps(secret)[1:-1].encode() not in exported


# --- erasure and rectification --------------------------------------------------------------------


def test_erasure_is_refused_while_isolation_is_live_allowed_after_and_then_nothing_decrypts(
    dpo: StaffMember,
) -> None:
    today = timezone.localdate()
    contact = PersonFactory.create()
    _case_naming(contact, today=today)
    request = _request_for(contact, dpo)
    ends_on = today - timedelta(days=2) + timedelta(days=10)

    with pytest.raises(ErasureNotAllowed, match="isolation has not ended"):
        erase_subject(request=request, by=dpo, today=ends_on)
    assert person_details(contact).nhs_number

    erase_subject(request=request, by=dpo, today=ends_on + timedelta(days=1))

    erased = Person.objects.select_related("data_key").get(pk=contact.pk)
    with pytest.raises(PersonErased):
        person_details(erased)
    with pytest.raises(DataKeyDestroyed):
        unwrap_data_key(erased.data_key)
    export = subject_access_export(request=request, by=dpo, file_format="JSON").content
    assert export["person"]["details"] == {}
    assert export["exposures"], "the contact record stays, without their identity"
    assert AccessEvent.objects.filter(
        action=AccessAction.ERASE,
        subject_reference=contact.reference,
        actor_reference=dpo.reference,
    ).exists()


def test_erasure_is_refused_while_the_person_has_an_open_case(dpo: StaffMember) -> None:
    today = timezone.localdate()
    case = CaseFactory.create(specimen_date=today - timedelta(days=30), today=today)

    refusal = erasure_refusal(case.person, today=today)

    assert refusal is not None
    assert "open case" in refusal
    assert "17(3)(c)" in refusal


def test_the_page_shows_why_erasure_is_refused_and_erasing_by_post_is_refused_too(
    dpo: StaffMember,
) -> None:
    contact = PersonFactory.create()
    _case_naming(contact, today=timezone.localdate())
    request = _request_for(contact, dpo)
    client = sign_in(dpo)

    page = client.get(f"/dpo/subject-access/{request.reference}/").content.decode()
    response = client.post(
        f"/dpo/subject-access/{request.reference}/erase/", {"confirm": "on"}, follow=True
    )

    assert "Erasure is not possible now" in page
    assert "isolation has not ended" in page
    assert "Not erased" in response.content.decode()
    assert person_details(contact).nhs_number


def test_rectification_shows_errors_by_field_and_saves_valid_details(dpo: StaffMember) -> None:
    person = PersonFactory.create()
    request = _request_for(person, dpo)
    client = sign_in(dpo)
    url = f"/dpo/subject-access/{request.reference}/rectify/"
    shown = client.get(url)
    form = {
        name: value
        for name, value in shown.context["form"].initial.items()
        if name != "date_of_birth"
    }
    born = person_details(person).date_of_birth
    assert born is not None
    form |= {
        "date_of_birth_day": born.day,
        "date_of_birth_month": born.month,
        "date_of_birth_year": born.year,
    }

    invalid = client.post(url, {**form, "nhs_number": "1234567890"})
    saved = client.post(url, {**form, "family_name": "Featherstone"})

    assert invalid.status_code == 200
    assert list(invalid.context["form"].errors) == ["nhs_number"]
    assert saved.status_code == 302
    person.refresh_from_db()
    assert person_details(person).family_name == "Featherstone"
    assert AccessEvent.objects.filter(
        action=AccessAction.UPDATE, subject_reference=person.reference
    ).exists()


def test_rectify_subject_validates_as_a_whole(dpo: StaffMember) -> None:
    person = PersonFactory.create()
    request = _request_for(person, dpo)

    with pytest.raises(ValidationError) as refused:
        rectify_subject(
            request=request, by=dpo, details=PersonDetails(given_name="", email="not an email")
        )

    assert {"given_name", "email"} <= set(refused.value.message_dict)
