"""The office's pages through the real middleware: the dashboard, the breach forms and report,
and a disclosure request from recording to production."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from confide.dpo.breaches import open_breach
from confide.dpo.disclosures import STANDARD_REFUSAL
from confide.dpo.models import Breach, BreachSource, DisclosureRequest, DisclosureStatus
from confide.dpo.tests.conftest import sign_in
from confide.messaging.guard import record_blocked_send
from confide.people.selectors import person_details
from confide.people.tests.factories import PersonDetailsFactory, PersonFactory
from confide.schedule import Ticker
from confide.staff.models import StaffMember

pytestmark = pytest.mark.django_db


def test_the_dashboard_lists_open_breaches_soonest_deadline_first_and_marks_overdue(
    dpo: StaffMember,
) -> None:
    now = timezone.now()
    open_breach(summary="Fresh one", became_aware_at=now - timedelta(hours=1), by=dpo)
    open_breach(summary="Old one", became_aware_at=now - timedelta(hours=90), by=dpo)

    page = sign_in(dpo).get("/dpo/").content.decode()

    assert page.index("Old one") < page.index("Fresh one")
    assert "Overdue" in page
    assert "overdue by 18 hours" in page
    assert "2 days 22 hours left" in page  # 70:59 left, rounded down


def test_the_dpo_records_a_breach_and_its_changes_are_kept(dpo: StaffMember) -> None:
    client = sign_in(dpo)
    form = {
        "summary": "Laptop left on a train",
        "became_aware_at": (timezone.localtime() - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M"),
        "data_categories": ["identity", "contact"],
        "approximate_people": "40",
        "report_to_ico": "undecided",
        "tell_people": "undecided",
    }

    response = client.post("/dpo/breaches/new/", form)

    breach = Breach.objects.get()
    assert response["Location"] == f"/dpo/breaches/{breach.reference}/"
    client.post(f"/dpo/breaches/{breach.reference}/", {**form, "approximate_people": "45"})
    breach.refresh_from_db()
    assert breach.approximate_people == 45
    assert [c.description for c in breach.changes.all()] == ["Recorded", "Changed"]
    assert "History" in client.get(f"/dpo/breaches/{breach.reference}/").content.decode()


def test_saving_the_form_unchanged_changes_nothing(dpo: StaffMember) -> None:
    breach = open_breach(summary="Breach", became_aware_at=timezone.now(), by=dpo)
    client = sign_in(dpo)
    shown = client.get(f"/dpo/breaches/{breach.reference}/").context["form"]

    saved = client.post(
        f"/dpo/breaches/{breach.reference}/",
        {name: shown[name].value() for name in shown.fields if shown[name].value() is not None},
    )

    assert saved.status_code == 302, "the form as shown should save"
    assert [c.description for c in breach.changes.all()] == ["Recorded"]


def test_a_decision_without_a_reason_shows_an_error_on_the_field(dpo: StaffMember) -> None:
    breach = open_breach(summary="Breach", became_aware_at=timezone.now(), by=dpo)
    form = {
        "summary": "Breach",
        "became_aware_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        "report_to_ico": "no",
        "tell_people": "undecided",
    }

    response = sign_in(dpo).post(f"/dpo/breaches/{breach.reference}/", form)

    assert response.status_code == 200
    assert "Say why you decided this about reporting to the ICO" in response.content.decode()


def test_the_ico_report_holds_counts_and_categories_and_exports_as_json(dpo: StaffMember) -> None:
    breach = open_breach(
        summary="Spreadsheet sent to the wrong team",
        became_aware_at=timezone.now() - timedelta(hours=2),
        by=dpo,
        data_categories=["identity"],
        approximate_people=12,
    )
    client = sign_in(dpo)

    page = client.get(f"/dpo/breaches/{breach.reference}/report/").content.decode()
    exported = client.get(f"/dpo/breaches/{breach.reference}/report.json")

    assert "Identity (names, date of birth, NHS number)" in page
    report = json.loads(exported.content)
    assert report["approximate_people"] == 12
    assert (
        report["reporting_deadline"] == (breach.became_aware_at + timedelta(hours=72)).isoformat()
    )
    assert "attachment" in exported["Content-Disposition"]


def test_a_police_request_recorded_by_a_supervisor_is_refused_with_the_standard_reply(
    supervisor: StaffMember,
) -> None:
    person = PersonFactory.create()
    client = sign_in(supervisor)

    response = client.post(
        "/dpo/disclosures/new/",
        {
            "requester_kind": "police",
            "organisation": "A police force",
            "requester_name": "DC Example",
            "stated_purpose": "Enquiries",
            "requested_fields": ["given_name", "address"],
            "received_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "nhs_number": person_details(person).nhs_number,
        },
    )

    request = DisclosureRequest.objects.get()
    assert request.status == DisclosureStatus.REFUSED
    page = client.get(response["Location"]).content.decode()
    assert STANDARD_REFUSAL.split(".")[0] in page
    assert "Approve disclosure" not in page


def test_a_disclosure_goes_from_two_approvals_to_being_shown_once(
    supervisor: StaffMember, dpo: StaffMember, administrator: StaffMember
) -> None:
    person = PersonFactory.create(details=PersonDetailsFactory.build(given_name="Philippa"))
    sign_in(supervisor).post(
        "/dpo/disclosures/new/",
        {
            "requester_kind": "police",
            "organisation": "A police force",
            "stated_purpose": "Court order 123",
            "requested_fields": ["given_name"],
            "received_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "nhs_number": person_details(person).nhs_number,
        },
    )
    reference = DisclosureRequest.objects.get().reference
    dpo_client = sign_in(dpo)
    dpo_client.post(
        f"/dpo/disclosures/{reference}/approve/",
        {
            "lawful_basis": "court_order",
            "justification": "Order 123",
            "disclosed_fields": ["given_name"],
        },
    )
    # The DPO cannot be their own second approver.
    dpo_client.post(f"/dpo/disclosures/{reference}/second-approval/")
    refused = dpo_client.post(f"/dpo/disclosures/{reference}/produce/")
    assert refused.status_code == 302
    sign_in(administrator).post(f"/dpo/disclosures/{reference}/second-approval/")

    shown = dpo_client.post(f"/dpo/disclosures/{reference}/produce/", {"format": "html"})
    again = dpo_client.post(f"/dpo/disclosures/{reference}/produce/", {"format": "html"})

    assert "Philippa" in shown.content.decode()
    assert "no-store" in shown["Cache-Control"] or "max-age=0" in shown["Cache-Control"]
    assert again.status_code == 302
    assert "Philippa" not in dpo_client.get(again["Location"]).content.decode()


def test_the_detect_command_opens_entries_and_says_what_to_do_next() -> None:
    record_blocked_send(channel="email", recipient_count=4, reason="several recipients")
    out = StringIO()

    call_command("dpo", "detect", stdout=out)
    call_command("dpo", "detect", stdout=out)

    assert Breach.objects.filter(source=BreachSource.BLOCKED_SEND).count() == 1
    assert "1 new breach entry" in out.getvalue()
    assert "72 hours" in out.getvalue()


def test_the_worker_runs_the_detectors_on_its_timer() -> None:
    names = {every.job.__name__ for every in Ticker().jobs}

    assert {"_detect_breaches", "_detect_audit_chain_break"} <= names


def test_the_dpo_finds_the_office_from_their_work_page(dpo: StaffMember) -> None:
    page = sign_in(dpo).get("/work/").content.decode()

    assert 'href="/dpo/"' in page


def test_a_supervisor_finds_where_to_record_a_request_from_outside(
    supervisor: StaffMember,
) -> None:
    page = sign_in(supervisor).get("/work/").content.decode()

    assert 'href="/dpo/disclosures/new/"' in page
    assert 'href="/dpo/"' not in page
