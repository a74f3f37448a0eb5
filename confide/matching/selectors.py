"""Reads for the match review pages. Only `compare_people` decrypts, through `read_person`."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from confide.matching.models import MatchReview, Merge, ReviewState
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.selectors import read_person
from confide.staff.models import StaffMember
from confide.web.keyset import KeysetPage, keyset_page

# The labels of compared details, in the order the page shows them.
SHOWN = (
    ("given_name", "First name"),
    ("family_name", "Last name"),
    ("date_of_birth", "Date of birth"),
    ("nhs_number", "NHS number"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("address", "Address"),
    ("postcode", "Postcode"),
)


REVIEW_PAGE_SIZE = 50


def _both_live() -> QuerySet[MatchReview]:
    return MatchReview.objects.filter(
        person__erased_at__isnull=True,
        person__merged_into__isnull=True,
        candidate__erased_at__isnull=True,
        candidate__merged_into__isnull=True,
    )


def _open() -> QuerySet[MatchReview]:
    return (
        _both_live()
        .filter(state=ReviewState.OPEN)
        .select_related("person", "candidate")
        .order_by("created_at", "pk")
    )


def open_reviews(
    *, after: str | None = None, size: int = REVIEW_PAGE_SIZE
) -> KeysetPage[MatchReview]:
    """Likely matches waiting for a decision whose two people are both still live, oldest
    first, a page at a time from the cursor `after` (`InvalidCursor` if it is not one). Shows
    no personal data: references, score and source only, so the people's rows (sealed
    fields and all) are joined to check they are live, never loaded."""
    return keyset_page(
        _both_live().only("pk", "source", "score", "state", "created_at"),
        order=("created_at", "pk"),
        size=size,
        after=after,
        within={"state": ReviewState.OPEN},
    )


def open_review_or_none(review_id: int) -> MatchReview | None:
    return _open().filter(pk=review_id).first()


def recent_merges(limit: int = 50) -> QuerySet[Merge]:
    return Merge.objects.select_related("kept", "merged", "merged_by", "undone_by").order_by(
        "-merged_at", "-pk"
    )[:limit]


def merge_in_force_or_none(merge_id: int) -> Merge | None:
    return (
        Merge.objects.filter(pk=merge_id, undone_at__isnull=True)
        .select_related("kept", "merged")
        .first()
    )


@dataclass(frozen=True)
class ComparedDetail:
    label: str
    person: str
    candidate: str

    @property
    def same(self) -> bool:
        return self.person.casefold() == self.candidate.casefold()


@dataclass(frozen=True)
class RecordSummary:
    reference: str
    cases: int
    results: int
    named_as_contact: int


@dataclass(frozen=True)
class Comparison:
    details: list[ComparedDetail]
    person: RecordSummary
    candidate: RecordSummary


def _shown(details: PersonDetails, name: str) -> str:
    value = getattr(details, name)
    if value is None or value == "":
        return ""
    if name == "date_of_birth":
        return value.strftime("%-d %B %Y")
    return str(value)


def _summary(person: Person) -> RecordSummary:
    return RecordSummary(
        reference=str(person.reference),
        cases=person.cases.count(),
        results=person.test_results.count(),
        named_as_contact=person.exposures.count(),
    )


def compare_people(review: MatchReview, *, by: StaffMember) -> Comparison:
    """Both people's details side by side, each read logged with why."""
    purpose = f"decide whether two records are one person (match review {review.pk})"
    person = read_person(review.person, by=by, purpose=purpose)
    candidate = read_person(review.candidate, by=by, purpose=purpose)
    return Comparison(
        details=[
            ComparedDetail(label, _shown(person, name), _shown(candidate, name))
            for name, label in SHOWN
        ],
        person=_summary(review.person),
        candidate=_summary(review.candidate),
    )
