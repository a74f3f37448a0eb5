"""Finding the person we already hold, without decrypting anyone; reviews, merges and undos.

`match_people` first tries the blind indexes (exact, deterministic), then the keyed encodings
of the candidates that share a blocking key (probabilistic). Both are a few indexed queries
per call, however many details are matched at once and however large the population.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from confide.matching.encoding import (
    ENCODING_VERSION,
    GIVEN_TOKENS_AT,
    Comparable,
    Encoding,
    Token,
    dob_digits,
    encode_and_block,
    given_tokens,
    transposition_probes,
)
from confide.matching.models import BlockingKey, MatchReview, Merge, PersonEncoding, ReviewState
from confide.matching.scoring import GUARD_GIVEN, compare
from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.services import SealedPerson, person_indexes
from confide.privacy.audit import Access, record_accesses
from confide.privacy.models import AccessAction
from confide.staff.models import StaffMember

T = TypeVar("T")
# Chunk size for IN lists: well under SQLite's variable limit, and keeps each query short.
CHUNK = 500
# Blocking keys per query: up to nine stored keys per person and nine NHS-number probes.
KEY_CHUNK = 4_000
# At most this many likely matches are kept per person (best first).
MAX_LIKELY = 5
# A blocking key shared by more people than this says too little to be worth comparing (a
# very common name in a large postcode); the other keys still find the person.
MAX_BLOCK = 500
# A phone or email held by more people than this is a shared line or a placeholder (a care
# home's landline, a surgery's number, a lab's "no email" address), not a household's: it
# links nobody automatically (two residents of one first name would be joined), and reading
# every holder would make each match cost more as the population grows. The other rules (NHS
# number, surname + date of birth + postcode, the keyed encodings) still find the person.
MAX_SHARED_CONTACT = 20


@dataclass(frozen=True)
class LikelyMatch:
    person_id: int
    score: float


@dataclass(frozen=True)
class MatchOutcome:
    """`person`: a sure match to link to; `method`: how it was found ("" when none was);
    `likely`: people a supervisor should compare with this one (not including `person`)."""

    person: Person | None
    method: str
    likely: tuple[LikelyMatch, ...]


class Method:
    NHS_NUMBER = "nhs_number"
    EMAIL = "email"
    PHONE = "phone"
    SURNAME_DOB_POSTCODE = "surname_dob_postcode"
    PROBABILISTIC = "probabilistic"
    NONE = ""


def comparable(details: PersonDetails) -> Comparable:
    return Comparable(
        given=details.given_name,
        family=details.family_name,
        dob=dob_digits(details.date_of_birth),
        address=details.address,
        postcode=details.postcode,
        nhs_number=details.nhs_number,
        phone=details.phone,
        email=details.email,
    )


@dataclass(frozen=True)
class PreparedDetails:
    """Validated details with their blind indexes, keyed encoding and blocking keys, computed
    once: an import matches a new person and then indexes them with the same values.
    `probes` are the keys matching looks up but never stores (`transposition_probes`);
    `sealed`, when an import's helper process made it, the person sealed ahead in case they
    turn out to be new (`people.services.seal_new_person`)."""

    details: PersonDetails
    indexes: dict[str, str | None]
    encoding: Encoding
    encoding_bytes: bytes  # as stored (`Encoding.to_bytes`)
    blocking_keys: list[int]
    probes: list[int]
    sealed: SealedPerson | None = None


def prepare_details(details: Sequence[PersonDetails]) -> list[PreparedDetails]:
    prepared = []
    for detail in details:
        encoding, keys = encode_and_block(comparable(detail))
        prepared.append(
            PreparedDetails(
                detail,
                person_indexes(detail),
                encoding,
                encoding.to_bytes(),
                keys,
                transposition_probes(detail.nhs_number),
            )
        )
    return prepared


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the index --------------------------------------------------------------------------------


EncodingRow = tuple[int, int, bytes]
BlockingRow = tuple[int, int]


def index_rows(
    pairs: Sequence[tuple[Person, PersonDetails]],
) -> tuple[list[EncodingRow], list[BlockingRow]]:
    """The rows `index_new_people` inserts: (person, version, encoding), (key, person)."""
    return _index_rows_by_id([(person.pk, details) for person, details in pairs])


def _index_rows_by_id(
    pairs: Sequence[tuple[int, PersonDetails | PreparedDetails]],
) -> tuple[list[EncodingRow], list[BlockingRow]]:
    encodings: list[EncodingRow] = []
    keys: list[BlockingRow] = []
    for pk, details in pairs:
        if isinstance(details, PreparedDetails):
            encoded, person_keys = details.encoding_bytes, details.blocking_keys
        else:
            encoding, person_keys = encode_and_block(comparable(details))
            encoded = encoding.to_bytes()
        encodings.append((pk, ENCODING_VERSION, encoded))
        keys.extend(zip(person_keys, repeat(pk)))
    return encodings, keys


def index_people(pairs: Sequence[tuple[int, PersonDetails | PreparedDetails]]) -> None:
    """Store the encodings and blocking keys of people just inserted (by id), none of whom
    is indexed yet (`people.services.save_new_people`)."""
    encodings, keys = _index_rows_by_id(pairs)
    # In key order: the keys are random, and inserting them in index order touches each page
    # of the key index once per batch instead of once per key.
    keys.sort()
    insert_index_rows(encodings, keys)


def insert_index_rows(encodings: list[EncodingRow], keys: list[BlockingRow]) -> None:
    """Insert rows as they are: COPY on PostgreSQL, executemany on SQLite. Hand-written
    because building ten model instances per person cost more than encoding the person."""
    tables = ((_ENCODING, ("person_id", "version", "encoding"), encodings),)
    tables += ((_BLOCKING, ("key", "person_id"), keys),)  # type: ignore[assignment]
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, rows in tables:
            if not rows:
                continue
            if connection.vendor == "postgresql":
                copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(columns)})",  # noqa: S608
                    rows,
                )


def index_new_people(pairs: Sequence[tuple[Person, PersonDetails]]) -> None:
    """Store the keyed encodings and blocking keys of people just saved.

    `people.services.create_person` and `save_people` already call this; people already
    indexed are skipped, so calling it again for them changes nothing.
    """
    indexed: set[int] = set()
    for chunk in _chunks([person.pk for person, _ in pairs]):
        indexed.update(
            PersonEncoding.objects.filter(person_id__in=chunk).values_list("person_id", flat=True)
        )
    encodings, keys = index_rows([pair for pair in pairs if pair[0].pk not in indexed])
    insert_index_rows(encodings, keys)


def reindex_person(*, person: Person, details: PersonDetails) -> None:
    """Replace a person's encodings after their details changed (rectification)."""
    with transaction.atomic():
        forget_person(person=person)
        index_new_people([(person, details)])


def forget_person(*, person: Person) -> None:
    """Delete a person's encodings (erasure): nothing about them is left to match on."""
    PersonEncoding.objects.filter(person_id=person.pk).delete()
    BlockingKey.objects.filter(person_id=person.pk).delete()


# --- matching ---------------------------------------------------------------------------------


# (person id, their (exact, formal) given-name tokens, or None when they have no encoding)
_Sharer = tuple[int, tuple[int, int] | None]


@dataclass
class _Exact:
    nhs: dict[str, int]
    email: dict[str, list[_Sharer]]
    phone: dict[str, list[_Sharer]]
    surname_dob: dict[str, list[tuple[int, str | None]]]


# The three reads below are hand-written SQL: they run for every match, and building the
# same queries through the ORM cost more than running them (a few ms per call).
_PERSON = Person._meta.db_table
_ENCODING = PersonEncoding._meta.db_table
_BLOCKING = BlockingKey._meta.db_table
_LIVE = "p.erased_at IS NULL AND p.merged_into_id IS NULL"
# SQLite has no statistics unless ANALYZE ran, so it takes `merged_into_id IS NULL` for a
# selective indexed condition and walks every live person to find a few hundred: a match
# then costs time in proportion to the population. The unary plus keeps those two columns
# out of index selection (SQLite's documented idiom), so the plan starts from the blind
# indexes and the blocking keys. PostgreSQL has no unary plus for timestamps; it chooses the
# right plan once the tables have statistics, which an import keeps up to date as it grows
# them (confide/ingest/planner.py).
_LIVE_SQLITE = "+p.erased_at IS NULL AND +p.merged_into_id IS NULL"


def _live() -> str:
    return _LIVE_SQLITE if connection.vendor == "sqlite" else _LIVE


_EXACT_COLUMNS = ("nhs_number_index", "email_index", "phone_index", "surname_dob_index")


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


def _exact_candidates(indexes: list[dict[str, str | None]]) -> _Exact:
    wanted: dict[str, set[str]] = {column: set() for column in _EXACT_COLUMNS}
    for row in indexes:
        for column in _EXACT_COLUMNS:
            digest = row[column]
            if digest:
                wanted[column].add(digest)
    exact = _Exact(nhs={}, email=defaultdict(list), phone=defaultdict(list), surname_dob={})
    surname_dob: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    conditions: list[str] = []
    params: list[str] = []
    for column in ("nhs_number_index", "surname_dob_index"):
        if wanted[column]:
            conditions.append(f"p.{column} IN ({_marks(list(wanted[column]))})")
            params.extend(wanted[column])
    if conditions:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id, p.nhs_number_index, p.surname_dob_index, "  # noqa: S608
                f"p.postcode_index FROM {_PERSON} p "
                f"WHERE ({' OR '.join(conditions)}) AND {_live()} ORDER BY p.id",
                params,
            )
            rows = cursor.fetchall()
        for pk, nhs, sdob, postcode in rows:
            if nhs and nhs in wanted["nhs_number_index"]:
                exact.nhs.setdefault(nhs, pk)
            if sdob and sdob in wanted["surname_dob_index"]:
                surname_dob[sdob].append((pk, postcode))
    exact.surname_dob = surname_dob
    exact.email, exact.phone = _contact_holders(wanted["email_index"], wanted["phone_index"])
    return exact


def _contact_holders(
    emails: set[str], phones: set[str]
) -> tuple[dict[str, list[_Sharer]], dict[str, list[_Sharer]]]:
    """The people holding each of these email and phone digests, with the given-name tokens
    of their encodings (the household rule compares nothing else), in id order; erased people
    hold none, merged ones are among them (`_decide_chunk` checks the few that matter).

    A digest more than MAX_SHARED_CONTACT people hold is left out. Holders are read from the
    email or phone index alone (its entries carry the row id) and their encodings by key: the
    person rows, which do not fit in a page cache, are not read."""
    holders: dict[str, dict[str, list[_Sharer]]] = {
        "email_index": defaultdict(list),
        "phone_index": defaultdict(list),
    }
    selects: list[str] = []
    params: list[str | int] = []
    start, end = GIVEN_TOKENS_AT
    for column, digests in (("email_index", emails), ("phone_index", phones)):
        if digests:
            selects.append(
                f"SELECT '{column}', p.{column}, p.id, substr(e.encoding, {start + 1}, "  # noqa: S608
                f"{end - start}) FROM {_PERSON} p LEFT JOIN {_ENCODING} e "
                f"ON e.person_id = p.id WHERE p.{column} IN (SELECT {column} FROM {_PERSON} "
                f"WHERE {column} IN ({_marks(list(digests))}) GROUP BY {column} "
                f"HAVING COUNT(*) <= %s)"
            )
            params += [*digests, MAX_SHARED_CONTACT]
    if selects:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(selects), params)
            rows = sorted(cursor.fetchall(), key=lambda row: row[2])
        for column, digest, pk, tokens in rows:
            holders[column][digest].append((pk, given_tokens(tokens) if tokens else None))
    return holders["email_index"], holders["phone_index"]


def _live_people(person_ids: set[int]) -> set[int]:
    """Those of these people who are neither erased nor merged into another."""
    live: set[int] = set()
    for chunk in _chunks(sorted(person_ids)):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT p.id FROM {_PERSON} p WHERE p.id IN ({_marks(chunk)}) "  # noqa: S608
                f"AND {_live()}",
                list(chunk),
            )
            live.update(pk for (pk,) in cursor.fetchall())
    return live


def _blocked_candidates(
    keys_per_detail: list[list[int]],
) -> tuple[dict[int, set[int]], dict[int, Encoding]]:
    """Blocking key -> live people sharing it, and their encodings: one indexed join per
    chunk of keys."""
    wanted = sorted({key for keys in keys_per_detail for key in keys})
    members: dict[int, set[int]] = defaultdict(set)
    raw: dict[int, bytes] = {}
    for chunk in _chunks(wanted, KEY_CHUNK):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT b.key, b.person_id, e.encoding FROM {_BLOCKING} b "  # noqa: S608
                f"JOIN {_ENCODING} e ON e.person_id = b.person_id "
                f"JOIN {_PERSON} p ON p.id = b.person_id "
                f"WHERE b.key IN ({_marks(chunk)}) AND {_live()}",
                list(chunk),
            )
            for key, person_id, encoding in cursor.fetchall():
                members[key].add(person_id)
                raw[person_id] = encoding
    return members, {pk: Encoding.from_bytes(value) for pk, value in raw.items()}


def _encodings(person_ids: set[int]) -> dict[int, Encoding]:
    found: dict[int, Encoding] = {}
    for chunk in _chunks(sorted(person_ids)):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e.person_id, e.encoding FROM {_ENCODING} e "  # noqa: S608
                f"JOIN {_PERSON} p ON p.id = e.person_id "
                f"WHERE e.person_id IN ({_marks(chunk)}) AND {_live()}",
                list(chunk),
            )
            for person_id, raw in cursor.fetchall():
                found[person_id] = Encoding.from_bytes(raw)
    return found


def _same_given_name_unindexed(person_id: int, given_name: str) -> bool:
    """For a person saved before matching existed (no encoding yet): compare by decrypting,
    as find_known_person did before, with the access logged as Confide's own."""
    from confide.people.selectors import read_person

    person = Person.objects.select_related("data_key").get(pk=person_id)
    stored = read_person(person, by=None, purpose="automatic matching of a new record")
    return " ".join(stored.given_name.lower().split()) == " ".join(given_name.lower().split())


def _same_given_name(candidate: tuple[int, int], token: int, formal: int) -> bool:
    given_exact, given_formal = candidate
    return bool(token) and (given_exact == token or (bool(formal) and given_formal == formal))


Decision = tuple[int | None, str, tuple[LikelyMatch, ...]]


def _decide_chunk(prepared: Sequence[PreparedDetails]) -> list[Decision]:
    details = [p.details for p in prepared]
    indexes = [p.indexes for p in prepared]
    encoded = [p.encoding for p in prepared]
    # The stored keys, and the NHS numbers one transposition away (looked up, never stored).
    keys = [p.blocking_keys + p.probes for p in prepared]
    exact = _exact_candidates(indexes)
    members, encodings = _blocked_candidates(keys)

    candidates_of: list[set[int]] = []
    for detail_keys in keys:
        found: set[int] = set()
        for key in detail_keys:
            sharing = members.get(key)
            if sharing and len(sharing) <= MAX_BLOCK:
                found.update(sharing)
        candidates_of.append(found)
    same_birthday = {pk for rows in exact.surname_dob.values() for pk, _ in rows}
    missing = same_birthday - encodings.keys()
    if missing:
        encodings.update(_encodings(missing))

    given_index = tuple(Token).index(Token.GIVEN_EXACT)
    formal_index = tuple(Token).index(Token.GIVEN_FORMAL)
    # Holders of a shared email or phone who pass the household rule for someone here (or
    # have no encoding to tell): only these few are read to check they are still live.
    passing: set[int] = set()
    for row, own in zip(indexes, encoded, strict=True):
        given, formal = own.tokens[given_index], own.tokens[formal_index]
        for column, table in (("email_index", exact.email), ("phone_index", exact.phone)):
            digest = row[column]
            for pk, tokens in table.get(digest, []) if digest else []:
                if tokens is None or _same_given_name(tokens, given, formal):
                    passing.add(pk)
    live_holders = _live_people(passing) if passing else set()
    decisions: list[tuple[int | None, str, tuple[LikelyMatch, ...]]] = []
    for detail, row, own, candidates in zip(details, indexes, encoded, candidates_of, strict=True):
        given, formal = own.tokens[given_index], own.tokens[formal_index]
        sure: int | None = None
        method = Method.NONE
        nhs = row["nhs_number_index"]
        if nhs and nhs in exact.nhs:
            sure, method = exact.nhs[nhs], Method.NHS_NUMBER
        if sure is None:
            # A shared email or phone links only with the same given name (the household rule,
            # see people.selectors.find_known_person).
            for kind, table in ((Method.EMAIL, exact.email), (Method.PHONE, exact.phone)):
                digest = row[f"{kind}_index"]
                for pk, tokens in table.get(digest, []) if digest else []:
                    if pk not in live_holders:
                        continue
                    if (
                        _same_given_name(tokens, given, formal)
                        if tokens is not None
                        else _same_given_name_unindexed(pk, detail.given_name)
                    ):
                        sure, method = pk, kind
                        break
                if sure is not None:
                    break
        if sure is None and row["surname_dob_index"] and row["postcode_index"]:
            # Twins share surname, birthday and home: the given name must agree here too.
            for pk, postcode in exact.surname_dob.get(row["surname_dob_index"], []):
                if postcode == row["postcode_index"] and _given_agrees(own, encodings.get(pk)):
                    sure, method = pk, Method.SURNAME_DOB_POSTCODE
                    break
        scored: list[tuple[float, int, bool]] = []
        for pk in candidates:
            other = encodings.get(pk)
            if other is None or pk == sure:
                continue
            comparison = compare(own, other)
            if comparison.sure or comparison.likely:
                scored.append((comparison.score, pk, comparison.sure))
        scored.sort(key=lambda item: (-item[0], item[1]))
        if sure is None and scored and scored[0][2]:
            sure, method = scored[0][1], Method.PROBABILISTIC
            scored = scored[1:]
        likely = tuple(LikelyMatch(person_id=pk, score=round(score, 4)) for score, pk, _ in scored)
        decisions.append((sure, method, likely[:MAX_LIKELY]))
    return decisions


def _match_chunk(details: Sequence[PersonDetails]) -> list[MatchOutcome]:
    decisions = _decide_chunk(prepare_details(details))
    sure_ids = {pk for pk, _, _ in decisions if pk is not None}
    people = Person.objects.select_related("data_key").in_bulk(sorted(sure_ids))
    return [
        MatchOutcome(person=people[pk] if pk is not None else None, method=method, likely=likely)
        for pk, method, likely in decisions
    ]


def _given_agrees(own: Encoding, other: Encoding | None) -> bool:
    if other is None:
        return False
    return compare(own, other).given >= GUARD_GIVEN


def match_people(details: Sequence[PersonDetails]) -> list[MatchOutcome]:
    """For each of these (already validated and normalised) details, the person we hold.

    Reads only blind indexes and keyed encodings: nobody is decrypted, and no access is
    logged (nothing is shown to anyone). A few queries per 500 details.
    """
    outcomes: list[MatchOutcome] = []
    for chunk in _chunks(details):
        outcomes.extend(_match_chunk(chunk))
    return outcomes


@dataclass(frozen=True)
class MatchedId:
    """`MatchOutcome` by id: for bulk callers (imports) that need no Person instance."""

    person_id: int | None
    method: str
    likely: tuple[LikelyMatch, ...]


def match_person_ids(details: Sequence[PersonDetails | PreparedDetails]) -> list[MatchedId]:
    """`match_people`, with the id of each sure match instead of the Person (one query less
    per chunk, and no instances to build). Details already prepared are not encoded again."""
    prepared = [d if isinstance(d, PreparedDetails) else prepare_details([d])[0] for d in details]
    outcomes: list[MatchedId] = []
    for chunk in _chunks(prepared):
        outcomes.extend(MatchedId(*decision) for decision in _decide_chunk(chunk))
    return outcomes


# --- the review queue -------------------------------------------------------------------------


def queue_likely_matches(person: Person, likely: Sequence[LikelyMatch], *, source: str) -> None:
    """Put likely matches of a newly saved person in the supervisors' review queue.

    A pair already decided "different people" is not asked again.
    """
    queue_likely_matches_of(person.pk, likely, source=source)


def queue_likely_matches_of(person_id: int, likely: Sequence[LikelyMatch], *, source: str) -> None:
    """`queue_likely_matches` for the person with this id."""
    queue_likely_matches_of_many([(person_id, likely)], source=source)


def queue_likely_matches_of_many(
    likely_by_person: Sequence[tuple[int, Sequence[LikelyMatch]]], *, source: str
) -> None:
    """`queue_likely_matches_of` for many people at once (an import's batch): one query for
    the pairs already found to be different people, one insert."""
    wanted: dict[tuple[int, int], float] = {}
    for person_id, likely in likely_by_person:
        for match in likely:
            if match.person_id != person_id:
                wanted.setdefault((person_id, match.person_id), match.score)
    if not wanted:
        return
    people = {person_id for person_id, _ in wanted}
    candidates = {candidate_id for _, candidate_id in wanted}
    separate = {
        frozenset(pair)
        for pair in MatchReview.objects.filter(
            Q(person_id__in=people, candidate_id__in=candidates)
            | Q(candidate_id__in=people, person_id__in=candidates),
            state=ReviewState.SEPARATE,
        ).values_list("person_id", "candidate_id")
    }
    MatchReview.objects.bulk_create(
        [
            MatchReview(person_id=person_id, candidate_id=pk, score=score, source=source[:32])
            for (person_id, pk), score in wanted.items()
            if frozenset((person_id, pk)) not in separate
        ],
        ignore_conflicts=True,
    )


class ReviewAlreadyDecided(Exception):
    """The review was decided by someone else meanwhile, or one of its people has gone."""


def _check_reason(reason: str) -> str:
    clean = " ".join(reason.split())
    if not clean:
        raise ValidationError({"reason": ["Say why you made this decision"]})
    return clean[:500]


def _record_decision(review_or_merge: str, people: Sequence[Person], by: StaffMember) -> None:
    record_accesses(
        [
            Access(
                action=AccessAction.UPDATE,
                purpose=review_or_merge,
                actor_reference=by.reference,
                subject_reference=person.reference,
                object_type="person",
                object_reference=str(person.reference),
            )
            for person in people
        ]
    )


def _open_review(review: MatchReview) -> tuple[MatchReview, Person, Person]:
    locked = MatchReview.objects.select_for_update().get(pk=review.pk)
    if locked.state != ReviewState.OPEN:
        raise ReviewAlreadyDecided(f"Match review {locked.pk} was already decided.")
    people = Person.objects.select_for_update().in_bulk([locked.person_id, locked.candidate_id])
    person, candidate = people[locked.person_id], people[locked.candidate_id]
    for who in (person, candidate):
        if who.erased_at is not None or who.merged_into_id is not None:
            raise ReviewAlreadyDecided(f"Person {who.reference} was erased or merged.")
    return locked, person, candidate


def separate_people(*, review: MatchReview, by: StaffMember, reason: str) -> MatchReview:
    """Decide that the two people of a review are different people."""
    clean = _check_reason(reason)
    with transaction.atomic():
        locked, person, candidate = _open_review(review)
        locked.state = ReviewState.SEPARATE
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.reason = clean
        locked.save()
        _record_decision(f"match review {locked.pk}: different people", (person, candidate), by)
    return locked


# Rows that point at a person, by kind: (model path, the field naming the person).
_MOVABLE = (
    ("test_results", "confide.cases.models.TestResult", "person"),
    ("cases", "confide.cases.models.Case", "person"),
    ("exposures", "confide.tracing.models.Exposure", "contact"),
    ("follow_ups", "confide.tracing.models.FollowUp", "person"),
    ("safeguarding", "confide.people.models.SafeguardingFlag", "person"),
)


def _model(path: str) -> type:
    from django.utils.module_loading import import_string

    model: type = import_string(path)
    return model


def _movable_ids(kind: str, merged: Person, kept: Person) -> list[int]:
    """Rows of `merged` that can point at `kept` without breaking a uniqueness rule."""
    from confide.people.models import SafeguardingFlag
    from confide.tracing.models import Exposure

    _, path, field = next(m for m in _MOVABLE if m[0] == kind)
    rows = _model(path)._default_manager.filter(**{field: merged})  # type: ignore[attr-defined]
    if kind == "exposures":
        # One exposure per case and contact: where both were named by one case, the merged
        # record's exposure stays with it (it remains visible through the merge record).
        taken = Exposure.objects.filter(contact=kept).values("case_id")
        rows = rows.exclude(case_id__in=taken)
    if kind == "safeguarding":
        # Only flags in force move, and only those `kept` does not already have.
        rows = rows.filter(cleared_at__isnull=True).exclude(
            kind__in=SafeguardingFlag.objects.filter(person=kept, cleared_at__isnull=True).values(
                "kind"
            )
        )
    return sorted(rows.values_list("pk", flat=True))


def merge_people(*, review: MatchReview, by: StaffMember, reason: str) -> Merge:
    """Decide that the two people of a review are one: the newer record (`review.person`)
    is merged into the one already held (`review.candidate`).

    Its test results, cases, exposures, follow-ups and safeguarding flags move to the kept
    person; work items follow their cases and exposures. Messages stay, sealed under the
    merged person's own key. Every moved row is recorded so `undo_merge` can move it back.
    """
    clean = _check_reason(reason)
    with transaction.atomic():
        locked, merged, kept = _open_review(review)
        moved: dict[str, list[int]] = {}
        for kind, path, field in _MOVABLE:
            ids = _movable_ids(kind, merged, kept)
            if ids:
                _model(path)._default_manager.filter(pk__in=ids).update(**{field: kept})  # type: ignore[attr-defined]
            moved[kind] = ids
        Person.objects.filter(pk=merged.pk).update(merged_into=kept)
        locked.state = ReviewState.MERGED
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.reason = clean
        locked.save()
        merge = Merge.objects.create(
            kept=kept, merged=merged, review=locked, moved=moved, merged_by=by, reason=clean
        )
        _record_decision(f"match review {locked.pk}: same person, merged", (merged, kept), by)
    return merge


class MergeAlreadyUndone(Exception):
    """This merge was undone already."""


def undo_merge(*, merge: Merge, by: StaffMember, reason: str) -> Merge:
    """Put back exactly the rows the merge moved, and make the merged person a person again.

    The review is then recorded as "different people", decided by whoever undid the merge.
    """
    clean = _check_reason(reason)
    with transaction.atomic():
        locked = Merge.objects.select_for_update().get(pk=merge.pk)
        if locked.undone_at is not None:
            raise MergeAlreadyUndone(f"Merge {locked.pk} was already undone.")
        for kind, path, field in _MOVABLE:
            ids = locked.moved.get(kind, [])
            if ids:
                _model(path)._default_manager.filter(  # type: ignore[attr-defined]
                    pk__in=ids, **{f"{field}_id": locked.kept_id}
                ).update(**{f"{field}_id": locked.merged_id})
        Person.objects.filter(pk=locked.merged_id).update(merged_into=None)
        now = timezone.now()
        locked.undone_by = by
        locked.undone_at = now
        locked.undo_reason = clean
        locked.save()
        if locked.review_id is not None:
            MatchReview.objects.filter(pk=locked.review_id).update(
                state=ReviewState.SEPARATE, decided_by=by, decided_at=now, reason=clean
            )
        people = Person.objects.in_bulk([locked.merged_id, locked.kept_id])
        _record_decision(
            f"merge {locked.pk} undone: different people",
            (people[locked.merged_id], people[locked.kept_id]),
            by,
        )
    return locked
