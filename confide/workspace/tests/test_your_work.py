"""The "Your work" page: what a tracer holds or the button to take the next item."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.people.selectors import person_details
from confide.staff.models import Role, StaffMember, Tier
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import claim_next
from confide.workspace.selectors import QUEUE_DEPTH_SHOWN, queue_depth
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


def test_signing_in_is_required(client: Client):
    response = client.get("/work/")

    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/")


def test_a_password_without_the_second_factor_is_not_enough(client: Client, clinician: StaffMember):
    client.force_login(clinician, backend="confide.staff.auth.EmailBlindIndexBackend")

    response = client.get("/work/")

    assert response.status_code == 302
    assert response["Location"] == "/sign-in/two-factor/"


def test_a_tracer_with_nothing_claimed_sees_the_next_button_and_the_queue_counts(
    clinician_client: Client, interview: WorkItem
):
    html = clinician_client.get("/work/").content.decode()

    assert "Get the next case" in html
    assert 'action="/work/next/"' in html
    assert "Waiting now" in html
    assert '<dd class="govuk-summary-list__value">1</dd>' in html


def test_a_tracer_holding_an_item_is_sent_back_to_it_and_sees_no_personal_data_here(
    clinician_client: Client, clinician: StaffMember, interview: WorkItem, case: Case
):
    claim_next(tracer=clinician)

    html = clinician_client.get("/work/").content.decode()

    assert f'href="/work/items/{interview.pk}/"' in html
    assert "Get the next case" not in html
    assert person_details(case.person).given_name not in html


def test_an_empty_queue_says_so(clinician_client: Client):
    response = clinician_client.post("/work/next/", follow=True)

    assert "There is no work waiting in your queue" in response.content.decode()


def test_a_call_handler_only_gets_work_from_their_own_tier(
    make_staff: StaffMaker, interview: WorkItem
):
    call_handler = sign_in(Client(), make_staff(Role.CALL_HANDLER))

    response = call_handler.post("/work/next/")

    assert response["Location"] == "/work/"
    interview.refresh_from_db()
    assert interview.claimed_by is None


def test_a_supervisor_is_pointed_to_the_dashboard(make_staff: StaffMaker):
    supervisor = sign_in(Client(), make_staff(Role.SUPERVISOR))

    html = supervisor.get("/work/").content.decode()

    assert 'href="/supervise/"' in html
    assert "Get the next" not in html


def test_the_navigation_offers_supervise_only_to_supervisors(
    clinician_client: Client, make_staff: StaffMaker
):
    supervisor = sign_in(Client(), make_staff(Role.SUPERVISOR))

    assert "Supervise</a>" not in clinician_client.get("/work/").content.decode()
    assert "Supervise</a>" in supervisor.get("/work/").content.decode()


def test_signing_out_is_a_button_not_a_link(clinician_client: Client):
    html = clinician_client.get("/work/").content.decode()

    assert '<form method="post" action="/sign-out/">' in html


def test_the_queue_counts_items_offered_now_and_later_apart():
    now = timezone.now()
    cases = CaseFactory.create_batch(3)
    WorkItem.objects.bulk_create(
        WorkItem(
            kind=WorkKind.CASE_INTERVIEW,
            tier=tier,
            case=case,
            state=WorkState.WAITING,
            available_at=at,
        )
        for case, tier, at in [
            (cases[0], Tier.CLINICAL, now - timedelta(minutes=1)),
            (cases[1], Tier.CLINICAL, now + timedelta(hours=2)),
            (cases[2], Tier.CALL_HANDLING, now - timedelta(minutes=1)),
        ]
    )

    depth = queue_depth(tier=Tier.CLINICAL, now=now)

    assert (depth.ready, depth.later) == (1, 1)
    assert depth.shown(QUEUE_DEPTH_SHOWN + 1) == f"More than {QUEUE_DEPTH_SHOWN:,}"


def test_a_page_checks_training_with_the_user_and_reads_no_model_permission_tables(
    clinician_client: Client,
):
    with CaptureQueriesContext(connection) as captured:
        response = clinician_client.get("/work/")

    assert response.status_code == 200
    statements = [query["sql"] for query in captured.captured_queries]
    assert not [sql for sql in statements if "auth_permission" in sql]
    training = [sql for sql in statements if "staff_trainingrecord" in sql]
    assert len(training) == 1
    assert "staff_staffmember" in training[0]  # asked in the same query that loads the user
