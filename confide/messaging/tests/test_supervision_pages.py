"""Supervisors change templates (new versions, preview) and message staff groups one by one."""

from __future__ import annotations

import pytest
from django.test import Client

from confide.messaging.models import Broadcast, Message, MessageTemplate
from confide.staff.models import Role, TrainingCohort
from confide.staff.tests.factories import StaffMemberFactory, record_in_date_training
from confide.workspace.tests.conftest import sign_in

pytestmark = pytest.mark.django_db
EDIT = "/supervise/templates/contact_notification/sms/en/"


@pytest.fixture
def make_staff(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(role):
        member = StaffMemberFactory.create(role=role)
        record_in_date_training(member)
        return member

    return make


@pytest.fixture
def supervisor_client(make_staff) -> Client:
    return sign_in(Client(), make_staff(Role.SUPERVISOR))


def test_the_template_page_previews_the_current_version_with_sample_details(supervisor_client):
    page = supervisor_client.get(EDIT).content.decode()

    assert "Preview with sample details" in page
    assert "Friday 4 December 2026" in page  # the sample isolation end date


def test_saving_a_template_makes_a_new_version(supervisor_client):
    body = "((first_name)), stay at home until the end of ((isolation_ends_on)). ((support_link))"

    response = supervisor_client.post(EDIT, {"subject": "", "body": body, "save": "1"})

    assert response.status_code == 302
    latest = MessageTemplate.objects.filter(
        kind="contact_notification", channel="sms", language="en"
    )
    assert latest.order_by("-version")[0].body == body
    assert latest.count() == 2


def test_a_template_naming_a_field_its_kind_does_not_have_is_refused(supervisor_client):
    response = supervisor_client.post(
        EDIT, {"subject": "", "body": "((first_name)), named by ((case_name))", "save": "1"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "cannot use ((case_name))" in page
    assert MessageTemplate.objects.filter(kind="contact_notification", channel="sms").count() == 2


def test_a_broadcast_shows_the_count_and_message_before_sending_one_each(
    supervisor_client, make_staff
):
    cohort = TrainingCohort.objects.create(name="Trainees", starts_on="2026-11-01")
    cohort.members.set([make_staff(Role.CALL_HANDLER) for _ in range(3)])

    confirm = supervisor_client.post("/supervise/messages/new/", {"group": f"cohort:{cohort.pk}"})
    page = confirm.content.decode()
    assert "3 individual messages" in page
    assert "(their first name)" in page
    assert Message.objects.count() == 0

    done = supervisor_client.post(
        "/supervise/messages/new/", {"group": f"cohort:{cohort.pk}", "confirm": "1"}
    )

    assert done.status_code == 302
    broadcast = Broadcast.objects.get()
    assert broadcast.recipient_count == 3
    assert Message.objects.filter(broadcast=broadcast).count() == 3
    assert (
        Message.objects.filter(broadcast=broadcast).values("staff_member").distinct().count() == 3
    )


def test_tracers_cannot_change_templates_or_message_staff(make_staff):
    client = sign_in(Client(), make_staff(Role.CLINICIAN))

    assert client.get("/supervise/templates/").status_code == 403
    assert client.get(EDIT).status_code == 403
    assert client.post("/supervise/messages/new/", {"group": "everyone"}).status_code == 403
