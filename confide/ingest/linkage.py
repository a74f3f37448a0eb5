"""Finding the Person a result belongs to, for a whole batch at once.

Matching is the matching app's business (`confide.matching.services`: deterministic on blind
indexes, probabilistic on keyed encodings, likely matches to review). Ingest asks it about a
batch, links sure matches and creates the rest (`people.services.save_people` indexes them for
matching in the same transaction).

Within one batch, two rows for the same new person become one Person: rows with the same NHS
number, or with exactly the same details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from confide.matching import services as matching
from confide.matching.services import LikelyMatch, PreparedDetails
from confide.people.details import PersonDetails
from confide.people.services import seal_new_person


@dataclass(frozen=True)
class Link:
    """The id of a sure match to link to (or None: create a person), and likely matches for
    review."""

    person_id: int | None
    likely: tuple[LikelyMatch, ...] = ()


def prepare(details: Sequence[PersonDetails]) -> list[PreparedDetails]:
    """Blind indexes and keyed encodings of a batch's details, for matching and then for
    indexing the new people among them."""
    return matching.prepare_details(details)


def prepare_and_seal(details: Sequence[PersonDetails]) -> list[PreparedDetails]:
    """`prepare`, and each person sealed under a new data key in case they are new (an
    import's helper process does this ahead of matching: see `parallel`)."""
    return [
        replace(prepared, sealed=seal_new_person(prepared.details, prepared.indexes))
        for prepared in matching.prepare_details(details)
    ]


def find_people(details: Sequence[PersonDetails | PreparedDetails]) -> list[Link]:
    return [
        Link(person_id=o.person_id, likely=o.likely) for o in matching.match_person_ids(details)
    ]


def queue_likely_matches(
    likely_by_person: Sequence[tuple[int, Sequence[LikelyMatch]]], *, source: str
) -> None:
    """Put a batch's likely matches in the review queue (one query and one insert)."""
    matching.queue_likely_matches_of_many(
        [(person_id, likely) for person_id, likely in likely_by_person if likely], source=source
    )


def same_new_person_key(details: PersonDetails) -> object:
    """Rows of one batch with equal keys are one new person."""
    if details.nhs_number:
        return ("nhs_number", details.nhs_number)
    return ("details", details)
