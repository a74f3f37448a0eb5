"""The review pages: the queue, both records side by side (each read logged), decisions, undo."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from confide.matching.models import MatchReview, Merge, ReviewState
from confide.matching.services import LikelyMatch, queue_likely_matches
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.tests.factories import PersonFactory
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import AuthenticatorApp, Role, StaffMember
from confide.staff.tests.factories import StaffMemberFactory, record_in_date_training

pytestmark = pytest.mark.django_db
STAFF_BACKEND = "confide.staff.auth.EmailBlindIndexBackend"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def supervisor() -> StaffMember:
    member = StaffMemberFactory.create(role=Role.SUPERVISOR)
    record_in_date_training(member)
    return member


@pytest.fixture
def client(supervisor: StaffMember) -> Client:
    client = Client()
    client.force_login(supervisor, backend=STAFF_BACKEND)
    device = AuthenticatorApp.new_for(supervisor, name="Test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def review() -> MatchReview:
    held = PersonFactory.create(
        details=PersonDetails(given_name="Oluwaseun", family_name="Adeyemi")
    )
    new = PersonFactory.create(details=PersonDetails(given_name="Seun", family_name="Adeyemi"))
    queue_likely_matches(new, [LikelyMatch(person_id=held.pk, score=0.72)], source="contact")
    return MatchReview.objects.get(person=new)


def test_the_queue_lists_waiting_matches_without_personal_details(client, review):
    page = client.get(reverse("matching:queue")).content.decode()
    assert f"Compare match {review.pk}" in page
    assert "Adeyemi" not in page
    assert "72%" in page


def test_the_comparison_shows_both_records_and_logs_each_read(client, review, supervisor):
    before = AccessEvent.objects.count()
    page = client.get(reverse("matching:review", args=[review.pk])).content.decode()
    assert "Oluwaseun" in page
    assert ">Seun<" in page
    events = list(AccessEvent.objects.order_by("sequence")[before:])
    assert {(e.action, e.subject_reference) for e in events} == {
        (AccessAction.VIEW, review.person.reference),
        (AccessAction.VIEW, review.candidate.reference),
    }
    assert all(e.actor_reference == supervisor.reference for e in events)
    assert all(f"match review {review.pk}" in e.purpose for e in events)


def test_a_decision_without_a_reason_is_refused_with_an_error(client, review):
    response = client.post(reverse("matching:review", args=[review.pk]), {"decision": "same"})
    assert response.status_code == 200
    assert "Say why you made this decision" in response.content.decode()
    assert MatchReview.objects.get(pk=review.pk).state == ReviewState.OPEN


def test_same_person_merges_and_the_merge_can_be_undone(client, review, supervisor):
    response = client.post(
        reverse("matching:review", args=[review.pk]),
        {"decision": "same", "reason": "Same phone and date of birth on the GP record"},
    )
    assert response.status_code == 302
    merge = Merge.objects.get(review=review)
    assert Person.objects.get(pk=review.person_id).merged_into_id == review.candidate_id
    assert merge.merged_by == supervisor
    page = client.get(reverse("matching:undo", args=[merge.pk])).content.decode()
    assert "Undo this merge" in page
    response = client.post(
        reverse("matching:undo", args=[merge.pk]), {"reason": "GP confirmed two people"}
    )
    assert response.status_code == 302
    assert Person.objects.get(pk=review.person_id).merged_into_id is None
    assert client.get(reverse("matching:undo", args=[merge.pk])).status_code == 404


def test_different_people_closes_the_review(client, review):
    response = client.post(
        reverse("matching:review", args=[review.pk]),
        {"decision": "different", "reason": "Different middle names and ages"},
    )
    assert response.status_code == 302
    assert MatchReview.objects.get(pk=review.pk).state == ReviewState.SEPARATE
    assert client.get(reverse("matching:review", args=[review.pk])).status_code == 404


def test_the_dashboard_links_to_the_queue(client):
    assert reverse("matching:queue") in client.get(reverse("workspace:dashboard")).content.decode()
