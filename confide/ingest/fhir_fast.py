"""The common lab message read without fhir.resources: a strict, hand-checked shape.

Validating a Patient and an Observation with fhir.resources cost about 0.5 ms per result, more
than everything else an import does with it. Most labs send the same plain shape (docs/ingest.md:
a Patient with identifier, name, birth date, telecom and address; an Observation with status,
identifier, code, subject, effective date and a coded value). `read_patient` and
`read_observation` accept exactly that shape, element by element, with every value of a type
and form fhir.resources also accepts, and return objects with the attributes `fhir_format`
reads from fhir.resources' models. Anything else (another element, an unexpected type, a date
with a time zone we do not parse, an empty string) returns None, and the resource is validated
by fhir.resources as before, so every error is still reported by it, element by element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

T = TypeVar("T")

# FHIR R4 code systems of the elements below (required bindings): another code is an error
# fhir.resources does not report either, but we leave every such case to it.
NAME_USES = frozenset({"usual", "official", "temp", "nickname", "anonymous", "old", "maiden"})
TELECOM_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
TELECOM_USES = frozenset({"home", "work", "temp", "old", "mobile"})
ADDRESS_USES = frozenset({"home", "work", "temp", "old", "billing"})
GENDERS = frozenset({"male", "female", "other", "unknown"})
OBSERVATION_STATUSES = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


class NotPlain(Exception):
    """The resource is not in the plain shape: fhir.resources validates it instead."""


@dataclass(frozen=True)
class Coding:
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class CodeableConcept:
    coding: list[Coding] | None = None


@dataclass(frozen=True)
class Identifier:
    system: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Reference:
    reference: str | None = None


@dataclass(frozen=True)
class HumanName:
    use: str | None = None
    given: list[str] | None = None
    family: str | None = None


@dataclass(frozen=True)
class ContactPoint:
    system: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Address:
    use: str | None = None
    line: list[str] | None = None
    city: str | None = None
    postalCode: str | None = None


@dataclass(frozen=True)
class PlainPatient:
    identifier: list[Identifier] | None
    name: list[HumanName] | None
    telecom: list[ContactPoint] | None
    address: list[Address] | None
    birthDate: date | None


@dataclass(frozen=True)
class PlainObservation:
    identifier: list[Identifier] | None
    code: CodeableConcept
    subject: Reference | None
    effectiveDateTime: date | datetime | None
    valueCodeableConcept: CodeableConcept | None
    effectivePeriod: None = None


def _text(value: Any) -> str:
    # fhir.resources' string pattern accepts any non-empty text; we take only printable text
    # (no tabs or line breaks), kept exactly as sent.
    if type(value) is not str or not value or not value.isprintable():
        raise NotPlain
    return value


def _uri(value: Any) -> str:
    text = _text(value)
    if " " in text:
        raise NotPlain
    return text


def _code(value: Any, allowed: frozenset[str] | None = None) -> str:
    text = _text(value)
    if text != text.strip() or "  " in text or (allowed is not None and text not in allowed):
        raise NotPlain
    return text


def _element(raw: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    if type(raw) is not dict or not raw or not raw.keys() <= allowed:
        raise NotPlain
    return raw


def _list(raw: Any, read: Callable[[Any], T]) -> list[T] | None:
    if raw is None:
        return None
    if type(raw) is not list or not raw:
        raise NotPlain
    return [read(item) for item in raw]


def _optional(raw: Mapping[str, Any], key: str, read: Callable[[Any], T]) -> T | None:
    value = raw.get(key)
    return None if value is None else read(value)


def _date(value: Any) -> date:
    text = _text(value)
    if not _DATE.fullmatch(text):
        raise NotPlain
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise NotPlain from None


def _date_or_time(value: Any) -> date | datetime:
    text = _text(value)
    if _DATE.fullmatch(text):
        return _date(text)
    if not _DATE_TIME.fullmatch(text):
        raise NotPlain
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise NotPlain from None


_IDENTIFIER = frozenset({"system", "value"})
_CODING = frozenset({"system", "code", "display"})
_CONCEPT = frozenset({"coding", "text"})


def _identifier(raw: Any) -> Identifier:
    element = _element(raw, _IDENTIFIER)
    return Identifier(
        system=_optional(element, "system", _uri), value=_optional(element, "value", _text)
    )


def _coding(raw: Any) -> Coding:
    element = _element(raw, _CODING)
    _optional(element, "display", _text)
    return Coding(system=_optional(element, "system", _uri), code=_optional(element, "code", _code))


def _concept(raw: Any) -> CodeableConcept:
    element = _element(raw, _CONCEPT)
    _optional(element, "text", _text)
    return CodeableConcept(coding=_list(element.get("coding"), _coding))


def _reference(raw: Any) -> Reference:
    element = _element(raw, frozenset({"reference"}))
    return Reference(reference=_text(element["reference"]))


def _name(raw: Any) -> HumanName:
    element = _element(raw, frozenset({"use", "given", "family"}))
    return HumanName(
        use=_optional(element, "use", lambda v: _code(v, NAME_USES)),
        given=_list(element.get("given"), _text),
        family=_optional(element, "family", _text),
    )


def _telecom(raw: Any) -> ContactPoint:
    element = _element(raw, frozenset({"system", "value", "use"}))
    _optional(element, "use", lambda v: _code(v, TELECOM_USES))
    return ContactPoint(
        system=_optional(element, "system", lambda v: _code(v, TELECOM_SYSTEMS)),
        value=_optional(element, "value", _text),
    )


def _address(raw: Any) -> Address:
    element = _element(raw, frozenset({"use", "line", "city", "postalCode"}))
    return Address(
        use=_optional(element, "use", lambda v: _code(v, ADDRESS_USES)),
        line=_list(element.get("line"), _text),
        city=_optional(element, "city", _text),
        postalCode=_optional(element, "postalCode", _text),
    )


_PATIENT = frozenset(
    {"resourceType", "id", "identifier", "name", "birthDate", "telecom", "address", "gender"}
)
_OBSERVATION = frozenset(
    {
        "resourceType",
        "id",
        "status",
        "identifier",
        "code",
        "subject",
        "effectiveDateTime",
        "valueCodeableConcept",
    }
)


def _resource_id(raw: Mapping[str, Any]) -> None:
    value = raw.get("id")
    if value is not None and (type(value) is not str or not _ID.fullmatch(value)):
        raise NotPlain


def read_patient(raw: Mapping[str, Any]) -> PlainPatient | None:
    """The Patient in the plain shape, or None (then fhir.resources reads it)."""
    try:
        element = _element(raw, _PATIENT)
        _resource_id(element)
        _optional(element, "gender", lambda v: _code(v, GENDERS))
        return PlainPatient(
            identifier=_list(element.get("identifier"), _identifier),
            name=_list(element.get("name"), _name),
            telecom=_list(element.get("telecom"), _telecom),
            address=_list(element.get("address"), _address),
            birthDate=_optional(element, "birthDate", _date),
        )
    except NotPlain:
        return None


def read_observation(raw: Mapping[str, Any]) -> PlainObservation | None:
    """The Observation in the plain shape, or None (then fhir.resources reads it)."""
    try:
        element = _element(raw, _OBSERVATION)
        _resource_id(element)
        _code(element.get("status"), OBSERVATION_STATUSES)
        if "code" not in element:
            raise NotPlain
        return PlainObservation(
            identifier=_list(element.get("identifier"), _identifier),
            code=_concept(element["code"]),
            subject=_optional(element, "subject", _reference),
            effectiveDateTime=_optional(element, "effectiveDateTime", _date_or_time),
            valueCodeableConcept=_optional(element, "valueCodeableConcept", _concept),
        )
    except NotPlain:
        return None
