from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from confide.dpo.retention import retention_sweep
from confide.people.services import erase_person
from confide.people.tests.factories import PersonFactory
from confide.privacy.models import AccessEvent
from confide.staff.models import Role
from confide.support import services
from confide.support.bank import (
    bank_account_index,
    masked_account_number,
    masked_sort_code,
    validate_bank_details,
)
from confide.support.eligibility import (
    BENEFIT_CHOICES,
    EMPLOYMENT_CHOICES,
    LOW_INCOME,
    QUALIFYING_BENEFITS,
    WORK_FROM_HOME_CHOICES,
    assess_eligibility,
)
from confide.support.evidence import check_evidence
from confide.support.models import (
    ApplicationState,
    DecisionKind,
    Scheme,
    SupportApplication,
    SupportEvidence,
    SupportPayment,
)
from confide.support.periods import isolation_period_for
from confide.support.selectors import support_export
from confide.support.tests.factories import (
    ELIGIBLE_ANSWERS,
    SMALL_PDF,
    contact_visitor,
    draft_application,
    isolating_contact,
    make_member,
    submitted_application,
)
from confide.tracing.models import Exposure

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


# --- eligibility -------------------------------------------------------------------------------


@given(
    employment=st.sampled_from([c for c, _ in EMPLOYMENT_CHOICES]),
    work_from_home=st.sampled_from([c for c, _ in WORK_FROM_HOME_CHOICES]),
    benefit=st.sampled_from([c for c, _ in BENEFIT_CHOICES]),
)
def test_eligible_exactly_when_working_unable_to_work_from_home_and_on_benefit_or_low_income(
    employment: str, work_from_home: str, benefit: str
) -> None:
    result = assess_eligibility(
        {"employment": employment, "work_from_home": work_from_home, "benefit": benefit}
    )
    expected = (
        employment in {"employed", "self_employed"} and work_from_home == "no" and benefit != "none"
    )
    assert result.eligible is expected
    assert bool(result.reasons) is not expected
    if expected:
        qualifying = benefit in {c for c, _ in QUALIFYING_BENEFITS}
        assert result.scheme == (Scheme.MAIN if qualifying else Scheme.DISCRETIONARY)


def test_a_low_income_without_a_benefit_is_a_discretionary_payment() -> None:
    answers = {**ELIGIBLE_ANSWERS, "benefit": LOW_INCOME}
    assert assess_eligibility(answers).scheme == Scheme.DISCRETIONARY


def test_unanswered_questions_are_not_eligible() -> None:
    assert not assess_eligibility({}).eligible


# --- bank details ----------------------------------------------------------------------------


def test_bank_details_are_normalised_so_one_account_has_one_index() -> None:
    a = validate_bank_details(
        account_name="  Alex   Example ", sort_code="30-94-30", account_number="733445"
    )
    b = validate_bank_details(account_name="A Other", sort_code="309430", account_number="00733445")
    assert (a.account_name, a.sort_code, a.account_number) == ("Alex Example", "309430", "00733445")
    assert bank_account_index(a) == bank_account_index(b)


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("sort_code", {"sort_code": "30943"}),
        ("sort_code", {"sort_code": "30a430"}),
        ("account_number", {"account_number": "12345"}),
        ("account_number", {"account_number": "123456789"}),
        ("account_name", {"account_name": ""}),
        ("account_name", {"account_name": "Alex 99"}),
    ],
)
def test_invalid_bank_details_name_the_bad_field(field: str, values: dict[str, str]) -> None:
    good = {"account_name": "Alex Example", "sort_code": "309430", "account_number": "00733445"}
    with pytest.raises(ValidationError) as raised:
        validate_bank_details(**{**good, **values})
    assert set(raised.value.message_dict) == {field}


def test_bank_details_are_shown_masked() -> None:
    assert masked_account_number("00733445") == "****3445"
    assert masked_sort_code("309430") == "**-**-30"


# --- evidence ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(SMALL_PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")],
)
def test_evidence_is_recognised_by_its_content(content: bytes, content_type: str) -> None:
    assert check_evidence(content) == content_type


@pytest.mark.parametrize(
    "content",
    [b"MZ\x90\x00 a Windows program named payslip.pdf", b"<html><script>", b"GIF89a....", b""],
)
def test_evidence_that_is_not_a_pdf_png_or_jpeg_is_refused(content: bytes) -> None:
    with pytest.raises(ValidationError) as raised:
        check_evidence(content)
    assert set(raised.value.message_dict) == {"evidence"}


def test_evidence_over_the_size_limit_is_refused(settings: Any) -> None:
    settings.CONFIDE_SUPPORT_EVIDENCE_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="smaller than"):
        check_evidence(b"%PDF-" + b"0" * 96)
    assert check_evidence(b"%PDF-" + b"0" * 95) == "application/pdf"


@pytest.mark.django_db
def test_evidence_is_stored_sealed_and_refused_evidence_is_not_stored(exposure: Exposure) -> None:
    application = draft_application(exposure)
    with pytest.raises(ValidationError):
        services.add_evidence(application=application, content=b"not a document")
    assert not SupportEvidence.objects.exists()
    evidence = services.add_evidence(application=application, content=SMALL_PDF)
    stored = bytes(SupportEvidence.objects.get(pk=evidence.pk).content_sealed or b"")
    assert b"%PDF" not in stored
    assert evidence.content_type == "application/pdf"
    assert evidence.size == len(SMALL_PDF)


# --- the application -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_contact_in_isolation_was_told_to_isolate_for_their_exposures_dates(
    exposure: Exposure,
) -> None:
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    assert (period.starts_on, period.ends_on) == (
        exposure.last_contact_on,
        exposure.isolation_ends_on,
    )


@pytest.mark.django_db
def test_a_visitor_whose_exposure_is_someone_elses_has_no_period(exposure: Exposure) -> None:
    other = isolating_contact()
    visitor = contact_visitor(exposure)
    stolen = type(visitor)(
        person_id=visitor.person_id,
        role="contact",
        case_id=None,
        exposure_id=other.pk,
        link_id=0,
    )
    assert isolation_period_for(stolen) is None


@pytest.mark.django_db
def test_claims_close_after_the_window(exposure: Exposure, settings: Any) -> None:
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    settings.CONFIDE_SUPPORT_CLAIM_WINDOW_DAYS = 42
    late = period.starts_on + timedelta(days=43)
    with pytest.raises(services.ClaimWindowClosed):
        services.start_application(period=period, today=late)


@pytest.mark.django_db
def test_starting_twice_gives_the_same_application(exposure: Exposure) -> None:
    assert draft_application(exposure).pk == draft_application(exposure).pk


@pytest.mark.django_db
def test_an_incomplete_application_is_not_sent_and_nothing_changes(exposure: Exposure) -> None:
    application = draft_application(exposure)
    services.answer_question(application=application, question="employment", answer="employed")
    with pytest.raises(ValidationError) as raised:
        services.submit_application(application=application)
    assert set(raised.value.message_dict) == {
        "work_from_home",
        "benefit",
        "bank_details",
        "evidence",
    }
    application.refresh_from_db()
    assert application.state == ApplicationState.DRAFT
    assert application.submitted_at is None


@pytest.mark.django_db
def test_an_ineligible_application_cannot_be_sent(exposure: Exposure) -> None:
    with pytest.raises(services.NotEligible):
        submitted_application(exposure, answers={**ELIGIBLE_ANSWERS, "work_from_home": "yes"})
    assert SupportApplication.objects.get().state == ApplicationState.DRAFT


@pytest.mark.django_db
def test_a_sent_application_cannot_be_changed(exposure: Exposure) -> None:
    application = submitted_application(exposure)
    with pytest.raises(services.ApplicationNotEditable):
        services.answer_question(application=application, question="benefit", answer="none")
    with pytest.raises(services.ApplicationNotEditable):
        services.add_evidence(application=application, content=SMALL_PDF)


@pytest.mark.django_db
def test_bank_details_are_sealed_under_the_persons_own_key(exposure: Exposure) -> None:
    application = submitted_application(exposure, account_number="12345678")
    row = SupportApplication.objects.get(pk=application.pk)
    assert row.data_key_id == exposure.contact.data_key_id
    for sealed in (row.account_number_sealed, row.sort_code_sealed, row.account_name_sealed):
        assert sealed is not None
        assert b"12345678" not in bytes(sealed)
        assert b"309430" not in bytes(sealed)


# --- fraud: the same account for different applicants ---------------------------------------


@pytest.mark.django_db
def test_the_same_bank_details_from_two_applicants_flag_both_for_fraud_review() -> None:
    first = submitted_application(isolating_contact(), sort_code="30-94-30")
    assert not first.fraud_review
    second = submitted_application(isolating_contact(), account_number="733445")
    first.refresh_from_db()
    assert first.fraud_review
    assert second.fraud_review
    assert first.decisions.filter(kind=DecisionKind.FLAGGED).count() == 1
    assert second.decisions.filter(kind=DecisionKind.FLAGGED).count() == 1


@pytest.mark.django_db
def test_different_bank_details_are_not_flagged() -> None:
    first = submitted_application(isolating_contact())
    second = submitted_application(isolating_contact(), account_number="11112222")
    first.refresh_from_db()
    assert not first.fraud_review
    assert not second.fraud_review


@pytest.mark.django_db
def test_one_person_using_their_account_for_two_periods_is_not_flagged() -> None:
    person = PersonFactory.create()
    first = submitted_application(isolating_contact(contact=person))
    second = submitted_application(isolating_contact(contact=person))
    first.refresh_from_db()
    assert not first.fraud_review
    assert not second.fraud_review


@pytest.mark.django_db
def test_a_flagged_application_is_approved_only_once_the_officer_checked() -> None:
    submitted_application(isolating_contact())
    flagged = submitted_application(isolating_contact())
    officer = make_member(Role.SUPPORT_OFFICER)
    with pytest.raises(ValidationError):
        services.approve_application(application=flagged, by=officer, duplicate_checked=False)
    approved = services.approve_application(application=flagged, by=officer, duplicate_checked=True)
    assert approved.state == ApplicationState.APPROVED


# --- decisions and payments ------------------------------------------------------------------


def _pay(application: SupportApplication, **overrides: Any) -> SupportPayment:
    officer = make_member(Role.SUPPORT_OFFICER)
    values: dict[str, Any] = {
        "application": application,
        "by": officer,
        "paid_on": timezone.localdate(),
        "amount_pence": 50000,
        "payment_reference": "LA-000123",
        "today": timezone.localdate(),
    }
    return services.record_payment(**{**values, **overrides})


@pytest.mark.django_db
def test_an_approved_application_is_paid_once(exposure: Exposure) -> None:
    officer = make_member(Role.SUPPORT_OFFICER)
    application = services.approve_application(
        application=submitted_application(exposure), by=officer, duplicate_checked=False
    )
    payment = _pay(application)
    assert payment.person_id == exposure.contact_id
    assert SupportApplication.objects.get(pk=application.pk).state == ApplicationState.PAID
    with pytest.raises(services.DecisionNotAllowed):
        _pay(application)
    assert SupportPayment.objects.count() == 1


@pytest.mark.django_db
def test_a_sent_application_cannot_be_paid_before_approval(exposure: Exposure) -> None:
    with pytest.raises(services.DecisionNotAllowed):
        _pay(submitted_application(exposure))
    assert not SupportPayment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_second_payment_for_one_person_and_period() -> None:
    """Not just a check in the service: a row written past it is refused by the constraint."""
    person = PersonFactory.create()
    officer = make_member(Role.SUPPORT_OFFICER)
    exposure = isolating_contact(contact=person)
    paid = submitted_application(exposure)
    services.approve_application(application=paid, by=officer, duplicate_checked=False)
    _pay(paid)
    another = submitted_application(isolating_contact(contact=person))
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportPayment.objects.create(
            application=another,
            person=person,
            exposure=exposure,  # the period already paid
            paid_on=timezone.localdate(),
            amount_pence=50000,
            payment_reference="LA-000124",
            recorded_by=officer,
        )
    assert SupportPayment.objects.count() == 1


@pytest.mark.django_db
def test_a_payment_with_bad_values_names_each_field_and_saves_nothing(exposure: Exposure) -> None:
    officer = make_member(Role.SUPPORT_OFFICER)
    application = services.approve_application(
        application=submitted_application(exposure), by=officer, duplicate_checked=False
    )
    with pytest.raises(ValidationError) as raised:
        _pay(
            application,
            paid_on=timezone.localdate() + timedelta(days=1),
            amount_pence=50001,
            payment_reference=" ",
        )
    assert set(raised.value.message_dict) == {"paid_on", "amount", "payment_reference"}
    assert not SupportPayment.objects.exists()


@pytest.mark.django_db
def test_a_rejection_needs_a_reason_and_is_logged(exposure: Exposure) -> None:
    officer = make_member(Role.SUPPORT_OFFICER)
    application = submitted_application(exposure)
    with pytest.raises(ValidationError):
        services.reject_application(application=application, by=officer, reason="  ")
    services.reject_application(
        application=application, by=officer, reason="Employer confirms full pay"
    )
    assert AccessEvent.objects.filter(
        actor_reference=officer.reference,
        subject_reference=exposure.contact.reference,
        purpose__contains="rejected",
    ).exists()
    export = support_export(exposure.contact)
    [entry] = export["applications"]
    assert entry["state"] == "Rejected"
    assert entry["decisions"][-1]["reason"] == "Employer confirms full pay"
    assert entry["bank_account"] == "****3445"


# --- practical help ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_help_request_is_sealed_routed_and_handled_once(exposure: Exposure) -> None:
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    request = services.request_practical_help(
        period=period, kind="medicine", details="Prescription at the pharmacy on Mill Lane"
    )
    assert b"Mill Lane" not in bytes(request.details_sealed or b"")
    assert request.routed_to
    officer = make_member(Role.SUPPORT_OFFICER)
    services.mark_help_handled(request=request, by=officer)
    with pytest.raises(services.DecisionNotAllowed):
        services.mark_help_handled(request=request, by=officer)


@pytest.mark.django_db
def test_a_help_request_without_details_is_refused(exposure: Exposure) -> None:
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    with pytest.raises(ValidationError) as raised:
        services.request_practical_help(period=period, kind="pets", details="")
    assert set(raised.value.message_dict) == {"kind", "details"}


# --- erasure and retention -------------------------------------------------------------------


@pytest.mark.django_db
def test_erasing_the_person_shreds_their_support_records_and_the_bank_index(
    exposure: Exposure,
) -> None:
    application = submitted_application(exposure)
    period = isolation_period_for(contact_visitor(exposure))
    assert period is not None
    help_request = services.request_practical_help(period=period, kind="food", details="Bread")
    erase_person(person=exposure.contact)
    row = SupportApplication.objects.get(pk=application.pk)
    assert row.bank_account_index is None
    assert row.account_number_sealed is None
    assert row.answers_sealed is None
    assert SupportEvidence.objects.get(application=row).content_sealed is None
    help_request.refresh_from_db()
    assert help_request.details_sealed is None
    # The row stays (dates, state) for statistics and audit.
    assert row.state == ApplicationState.SUBMITTED


@pytest.mark.django_db
def test_retention_moves_an_expired_periods_support_off_a_person_still_needed(
    settings: Any,
) -> None:
    settings.CONFIDE_RETENTION_CONTACT_DAYS = 21
    person = PersonFactory.create()
    old = isolating_contact(contact=person)
    application = submitted_application(old)
    isolating_contact(contact=person)  # a second, current exposure keeps the person needed
    Exposure.objects.filter(pk=old.pk).update(
        last_contact_on=old.last_contact_on - timedelta(days=60),
        isolation_ends_on=old.isolation_ends_on - timedelta(days=60),
    )
    retention_sweep()
    row = SupportApplication.objects.get(pk=application.pk)
    assert row.person_id != person.pk
    assert row.bank_account_index is None
    assert row.account_number_sealed is None
    assert support_export(person)["applications"] == []
