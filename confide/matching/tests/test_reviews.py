"""The review queue: merge or separate with an audited decision; a merge undone restores all."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from confide.cases.models import Case, ResultOutcome
from confide.cases.models import TestResult as LabResult
from confide.cases.services import open_case
from confide.matching.models import MatchReview, Merge, ReviewState
from confide.matching.services import (
    LikelyMatch,
    MergeAlreadyUndone,
    ReviewAlreadyDecided,
    match_people,
    merge_people,
    queue_likely_matches,
    separate_people,
    undo_merge,
)
from confide.people.models import Person, SafeguardingFlag, SafeguardingKind
from confide.people.selectors import people_by_nhs_number
from confide.people.services import set_safeguarding_flag
from confide.people.tests.factories import PersonFactory
from confide.privacy.models import AccessAction, AccessEvent
from confide.staff.models import Role
from confide.staff.tests.factories import StaffMemberFactory
from confide.tracing.models import Exposure, FollowUp, Proximity
from confide.tracing.services import record_exposure

pytestmark = pytest.mark.django_db

SPECIMEN = date(2021, 1, 10)
TODAY = date(2021, 1, 11)


def review_of(new: Person, held: Person, score: float = 0.8) -> MatchReview:
    queue_likely_matches(new, [LikelyMatch(person_id=held.pk, score=score)], source="contact")
    return MatchReview.objects.get(person=new, candidate=held)


def expose(case: Case, contact: Person) -> Exposure:
    return record_exposure(
        case=case,
        contact=contact,
        last_contact=SPECIMEN,
        proximity=Proximity.HOUSEHOLD,
        today=TODAY,
        notify=False,
    )


def pointers() -> dict[str, dict[int, int]]:
    """Who every row points at, by kind: what a merge changes and an undo must restore."""
    return {
        "results": dict(LabResult.objects.values_list("pk", "person_id")),
        "cases": dict(Case.objects.values_list("pk", "person_id")),
        "exposures": dict(Exposure.objects.values_list("pk", "contact_id")),
        "follow_ups": dict(FollowUp.objects.values_list("pk", "person_id")),
        "flags": dict(SafeguardingFlag.objects.values_list("pk", "person_id")),
    }


@pytest.fixture
def supervisor():
    return StaffMemberFactory.create(role=Role.SUPERVISOR)


@pytest.fixture
def duplicate():
    """A person we held and a newer duplicate record, each with their own history; both
    named as contacts by one case (which cannot be merged onto one contact)."""
    held, new = PersonFactory.create(), PersonFactory.create()
    someone_else = PersonFactory.create()
    open_case(person=held, specimen_date=SPECIMEN, today=TODAY)
    result = LabResult.objects.create(
        lab_code="LAB1",
        lab_result_id="R1",
        person=new,
        outcome=ResultOutcome.POSITIVE,
        specimen_date=SPECIMEN,
    )
    open_case(person=new, specimen_date=SPECIMEN, test_result=result, today=TODAY)
    index_case = open_case(person=someone_else, specimen_date=SPECIMEN, today=TODAY)
    other_case = open_case(person=PersonFactory.create(), specimen_date=SPECIMEN, today=TODAY)
    expose(index_case, held)
    expose(index_case, new)
    expose(other_case, new)
    set_safeguarding_flag(person=new, kind=SafeguardingKind.PHONE_ONLY)
    return held, new


def test_merging_moves_the_new_records_history_to_the_person_held(duplicate, supervisor):
    held, new = duplicate
    merge = merge_people(review=review_of(new, held), by=supervisor, reason="Same NHS record")
    assert not LabResult.objects.filter(person=new).exists()
    assert not Case.objects.filter(person=new).exists()
    assert not FollowUp.objects.filter(person=new, exposure__case__person__isnull=False).exclude(
        exposure__contact=new
    )
    # The exposure to the case that named both stays with the merged record; the other moves.
    assert Exposure.objects.filter(contact=new).count() == 1
    assert Exposure.objects.filter(contact=held).count() == 2
    assert SafeguardingFlag.objects.filter(person=held, cleared_at__isnull=True).count() == 1
    assert Person.objects.get(pk=new.pk).merged_into_id == held.pk
    assert sorted(merge.moved) == [
        "cases",
        "exposures",
        "follow_ups",
        "safeguarding",
        "test_results",
    ]


def test_undoing_a_merge_restores_every_relation_exactly(duplicate, supervisor):
    held, new = duplicate
    before = pointers()
    merge = merge_people(review=review_of(new, held), by=supervisor, reason="Same NHS record")
    assert pointers() != before
    undo_merge(merge=merge, by=supervisor, reason="Different dates of birth on the GP record")
    assert pointers() == before
    assert Person.objects.get(pk=new.pk).merged_into_id is None
    assert merge.review_id is not None
    review = MatchReview.objects.get(pk=merge.review_id)
    assert review.state == ReviewState.SEPARATE
    with pytest.raises(MergeAlreadyUndone):
        undo_merge(merge=merge, by=supervisor, reason="again")


def test_a_merge_leaves_rows_added_to_the_kept_person_afterwards_alone(duplicate, supervisor):
    held, new = duplicate
    merge = merge_people(review=review_of(new, held), by=supervisor, reason="Same person")
    later = open_case(person=held, specimen_date=TODAY, today=TODAY)
    undo_merge(merge=merge, by=supervisor, reason="Not the same person")
    assert Case.objects.get(pk=later.pk).person_id == held.pk


def test_a_merged_person_is_not_found_again(duplicate, supervisor):
    held, new = duplicate
    merge_people(review=review_of(new, held), by=supervisor, reason="Same person")
    assert new.pk not in set(people_by_nhs_number(new_nhs_number(new)).values_list("pk", flat=True))


def new_nhs_number(person: Person) -> str:
    from confide.people.selectors import person_details

    return person_details(person).nhs_number


def test_each_decision_is_recorded_with_who_when_and_why(duplicate, supervisor):
    held, new = duplicate
    review = review_of(new, held)
    before = AccessEvent.objects.count()
    separate_people(review=review, by=supervisor, reason="Different people: twins")
    review.refresh_from_db()
    assert (review.state, review.decided_by, review.reason) == (
        ReviewState.SEPARATE,
        supervisor,
        "Different people: twins",
    )
    assert review.decided_at is not None
    events = AccessEvent.objects.order_by("sequence")[before:]
    assert {(e.action, e.actor_reference, e.subject_reference) for e in events} == {
        (AccessAction.UPDATE, supervisor.reference, new.reference),
        (AccessAction.UPDATE, supervisor.reference, held.reference),
    }


def test_a_decision_needs_a_reason_and_can_be_made_once(duplicate, supervisor):
    held, new = duplicate
    review = review_of(new, held)
    with pytest.raises(ValidationError):
        merge_people(review=review, by=supervisor, reason="   ")
    separate_people(review=review, by=supervisor, reason="Different people")
    with pytest.raises(ReviewAlreadyDecided):
        merge_people(review=review, by=supervisor, reason="Same person")
    assert not Merge.objects.exists()


def test_people_decided_different_are_not_queued_again(duplicate, supervisor):
    held, new = duplicate
    separate_people(review=review_of(new, held), by=supervisor, reason="Different people")
    queue_likely_matches(new, [LikelyMatch(person_id=held.pk, score=0.9)], source="result")
    assert MatchReview.objects.filter(state=ReviewState.OPEN).count() == 0


def test_the_same_likely_match_is_queued_once(duplicate):
    held, new = duplicate
    for _ in range(2):
        queue_likely_matches(new, [LikelyMatch(person_id=held.pk, score=0.9)], source="result")
    assert MatchReview.objects.count() == 1


def test_a_merged_person_is_never_a_candidate(duplicate, supervisor):
    held, new = duplicate
    merge_people(review=review_of(new, held), by=supervisor, reason="Same person")
    from confide.people.selectors import person_details

    outcome = match_people([person_details(new)])[0]
    assert outcome.person is None
    assert new.pk not in {m.person_id for m in outcome.likely}
