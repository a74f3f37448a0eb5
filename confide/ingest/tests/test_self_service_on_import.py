"""Each case an import opens gets its own self-service link, sealed for its own person, whether
the person is new (details and key taken from the batch) or already held (read back)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone

from confide.cases.models import Case
from confide.ingest.services import ingest_csv
from confide.ingest.tests.samples import result_row, write_csv
from confide.messaging.dispatch import envelope_for
from confide.messaging.models import Message
from confide.messaging.template_types import TemplateKind
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import person_details
from confide.people.services import create_person
from confide.privacy.models import AccessEvent, DataKey
from confide.public.links import usable_link
from confide.public.tests.journey import token_in
from confide.workqueue.models import WorkItem, WorkKind

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("workers", [0, 1])
def test_every_case_an_import_opens_gets_a_working_link_sealed_for_its_own_person(
    workers: int,
) -> None:
    """With a helper process, people are sealed there ahead of matching (`parallel`): the
    new ones must be as readable, and the held one's unused sealing leave nothing behind."""
    new_rows = [result_row(1), result_row(2)]
    held_row = result_row(3)
    held = create_person(
        details=PersonDetails(
            given_name="Someone", nhs_number=held_row["nhs_number"], email="held@example.org"
        ),
        today=date(2021, 1, 1),
    )
    stream = io.StringIO()
    write_csv(stream, [*new_rows, held_row])
    stream.seek(0)

    report = ingest_csv(stream, source="test", workers=workers)

    assert report.cases_opened == 3
    expected = {
        new_rows[0]["lab_result_id"]: ("person1@example.org", new_rows[0]["given_name"]),
        new_rows[1]["lab_result_id"]: ("person2@example.org", new_rows[1]["given_name"]),
        held_row["lab_result_id"]: ("held@example.org", "Someone"),
    }
    for case in Case.objects.select_related("person", "test_result"):
        message = Message.objects.select_related("template", "data_key").get(
            person=case.person, template__kind=TemplateKind.CASE_SELF_SERVICE
        )
        assert message.data_key_id == case.person.data_key_id
        envelope = envelope_for(message)
        assert case.test_result is not None
        email, first_name = expected[case.test_result.lab_result_id]
        assert envelope.recipient == email
        assert first_name in envelope.body
        assert usable_link(token_in(envelope.body)).case_id == case.pk
        assert AccessEvent.objects.filter(
            subject_reference=case.person.reference, object_reference=str(case.reference)
        ).exists()
    assert Case.objects.get(person=held).person_id == held.pk
    assert DataKey.objects.count() == Person.objects.count() == 3
    for new_row in new_rows:
        person = Case.objects.get(test_result__lab_result_id=new_row["lab_result_id"]).person
        assert person_details(person).family_name == new_row["family_name"]
    # Each interview waits for the self-service window, queued so rather than updated.
    assert all(
        item.available_at > timezone.now() + timedelta(hours=23)
        for item in WorkItem.objects.filter(kind=WorkKind.CASE_INTERVIEW)
    )
    assert WorkItem.objects.filter(kind=WorkKind.CASE_INTERVIEW).count() == 3
