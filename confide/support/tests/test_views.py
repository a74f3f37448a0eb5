from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from confide.people.selectors import person_details
from confide.privacy.models import AccessEvent
from confide.staff.models import Role
from confide.support.models import (
    ApplicationState,
    PracticalHelpRequest,
    SupportApplication,
    SupportPayment,
)
from confide.support.tests.factories import (
    SMALL_PDF,
    draft_application,
    make_member,
    signed_in,
    submitted_application,
)
from confide.tracing.models import Exposure

PUBLIC_PAGES = [
    "support:start",
    "support:employment",
    "support:work_from_home",
    "support:benefit",
    "support:not_eligible",
    "support:bank_details",
    "support:evidence",
    "support:check",
    "support:sent",
    "support:help",
    "support:help_sent",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_without_verification_every_page_asks_for_the_link_and_shows_nothing_else(
    name: str, exposure: Exposure
) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Open the link in your message" in page
    assert person_details(exposure.contact).given_name not in page


def _post(client: Client, name: str, data: dict[str, Any]) -> Any:
    return client.post(reverse(name), data)


@pytest.mark.django_db
def test_a_verified_contact_applies_page_by_page(
    visitor_client: Client, exposure: Exposure
) -> None:
    start = visitor_client.get(reverse("support:start"))
    assert f"{exposure.isolation_ends_on:%-d %B %Y}" in start.content.decode()
    assert _post(visitor_client, "support:start", {}).url == reverse("support:employment")
    assert _post(visitor_client, "support:employment", {}).status_code == 200  # error
    assert _post(visitor_client, "support:employment", {"answer": "employed"}).url == reverse(
        "support:work_from_home"
    )
    _post(visitor_client, "support:work_from_home", {"answer": "no"})
    assert _post(visitor_client, "support:benefit", {"answer": "housing_benefit"}).url == reverse(
        "support:bank_details"
    )
    bad = _post(
        visitor_client,
        "support:bank_details",
        {"account_name": "Alex Example", "sort_code": "12", "account_number": "00733445"},
    )
    assert "Enter a valid sort code" in bad.content.decode()
    assert "govuk-error-summary" in bad.content.decode()
    _post(
        visitor_client,
        "support:bank_details",
        {"account_name": "Alex Example", "sort_code": "30-94-30", "account_number": "00733445"},
    )
    upload = SimpleUploadedFile("payslip.pdf", SMALL_PDF, content_type="application/pdf")
    visitor_client.post(reverse("support:evidence"), {"evidence": upload, "upload": "1"})
    check = visitor_client.get(reverse("support:check")).content.decode()
    assert "****3445" in check
    assert "00733445" not in check
    assert _post(visitor_client, "support:check", {}).url == reverse("support:sent")
    application = SupportApplication.objects.get()
    assert application.state == ApplicationState.SUBMITTED
    sent = visitor_client.get(reverse("support:sent")).content.decode()
    assert application.short_reference in sent


@pytest.mark.django_db
def test_an_ineligible_answer_leads_to_the_not_eligible_page(
    visitor_client: Client,
) -> None:
    _post(visitor_client, "support:start", {})
    _post(visitor_client, "support:employment", {"answer": "neither"})
    _post(visitor_client, "support:work_from_home", {"answer": "no"})
    response = _post(visitor_client, "support:benefit", {"answer": "universal_credit"})
    assert response.url == reverse("support:not_eligible")
    page = visitor_client.get(response.url).content.decode()
    assert "employed or self-employed" in page


@pytest.mark.django_db
def test_a_file_named_pdf_that_is_not_one_is_refused_with_a_clear_error(
    visitor_client: Client,
) -> None:
    _post(visitor_client, "support:start", {})
    upload = SimpleUploadedFile("payslip.pdf", b"MZ\x90\x00program", content_type="application/pdf")
    response = visitor_client.post(reverse("support:evidence"), {"evidence": upload})
    page = response.content.decode()
    assert "must be a PDF, PNG or JPG" in page
    assert "govuk-error-summary" in page


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused_without_being_kept(
    visitor_client: Client, settings: Any
) -> None:
    settings.CONFIDE_SUPPORT_EVIDENCE_MAX_BYTES = 1024
    _post(visitor_client, "support:start", {})
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * 5000, content_type="application/pdf")
    response = visitor_client.post(reverse("support:evidence"), {"evidence": upload})
    assert "must be smaller than" in response.content.decode()
    assert not SupportApplication.objects.get().evidence.exists()


@pytest.mark.django_db
def test_a_verified_contact_asks_for_practical_help(visitor_client: Client) -> None:
    response = _post(
        visitor_client, "support:help", {"kind": "food", "details": "Groceries for two"}
    )
    assert response.url == reverse("support:help_sent")
    assert PracticalHelpRequest.objects.get().kind == "food"


# --- the local authority -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role",
    [Role.CALL_HANDLER, Role.CLINICIAN, Role.SUPERVISOR, Role.DATA_PROTECTION_OFFICER],
)
def test_only_a_support_officer_reviews_applications(role: str, exposure: Exposure) -> None:
    application = submitted_application(exposure)
    client = signed_in(make_member(role))
    assert client.get(reverse("support:queue")).status_code == 403
    review = reverse("support:review", args=[application.reference])
    assert client.get(review).status_code == 404
    assert client.post(review, {"decision": "approve"}).status_code == 404
    assert client.get(reverse("support:help_queue")).status_code == 403
    assert SupportApplication.objects.get().state == ApplicationState.SUBMITTED


@pytest.mark.django_db
def test_an_untrained_support_officer_is_refused(exposure: Exposure) -> None:
    application = submitted_application(exposure)
    client = signed_in(make_member(Role.SUPPORT_OFFICER, trained=False))
    assert client.get(reverse("support:queue")).status_code == 403
    assert client.get(reverse("support:review", args=[application.reference])).status_code == 404


@pytest.mark.django_db
def test_an_officer_reviews_reveals_views_evidence_approves_and_pays(exposure: Exposure) -> None:
    application = submitted_application(exposure)
    officer = make_member(Role.SUPPORT_OFFICER)
    client = signed_in(officer)
    queue = client.get(reverse("support:queue")).content.decode()
    assert application.short_reference in queue
    review_url = reverse("support:review", args=[application.reference])
    page = client.get(review_url).content.decode()
    assert "****3445" in page
    assert "00733445" not in page

    def logged(fragment: str) -> int:
        return AccessEvent.objects.filter(
            actor_reference=officer.reference,
            subject_reference=exposure.contact.reference,
            purpose__contains=fragment,
        ).count()

    assert logged("review") == 1
    revealed = client.post(reverse("support:reveal_bank_details", args=[application.reference]))
    assert "00733445" in revealed.content.decode()
    assert logged("bank details revealed") == 1
    evidence = application.evidence.get()
    file = client.get(reverse("support:evidence_file", args=[application.reference, evidence.pk]))
    assert file.content == SMALL_PDF
    assert file["Content-Type"] == "application/pdf"
    assert logged(f"evidence {evidence.pk} viewed") == 1

    approved = client.post(review_url, {"decision": "approve", "reason": ""})
    assert approved["Location"] == reverse("support:payment", args=[application.reference])
    today = timezone.localdate()
    paid = client.post(
        reverse("support:payment", args=[application.reference]),
        {
            "paid_on_day": today.day,
            "paid_on_month": today.month,
            "paid_on_year": today.year,
            "amount": "500",
            "payment_reference": "LA-1",
        },
    )
    assert paid.status_code == 302
    payment = SupportPayment.objects.get()
    assert (payment.amount_pence, payment.payment_reference) == (50000, "LA-1")


@pytest.mark.django_db
def test_a_draft_is_not_shown_to_the_officer(exposure: Exposure) -> None:
    draft = draft_application(exposure)
    client = signed_in(make_member(Role.SUPPORT_OFFICER))
    assert client.get(reverse("support:review", args=[draft.reference])).status_code == 404
