"""FHIR R4 Bundles of Patient + Observation (and/or DiagnosticReport), read into results.

Each resource is validated on its own with fhir.resources (the R4B models, which read R4
Patient, Observation and DiagnosticReport unchanged), so one invalid resource rejects only the
results that need it, not the whole Bundle. References are resolved inside the Bundle by
`fullUrl` (or `Type/id`). The profile is documented in docs/ingest.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydantic
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from confide.ingest.csv_format import UnreadableFile
from confide.ingest.fhir_fast import PlainObservation, PlainPatient, read_observation, read_patient
from confide.ingest.rows import SARS_COV_2_LOINC, SubmittedResult

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
BUNDLE_TYPES = frozenset({"transaction", "collection", "batch"})
# SNOMED CT concepts for a SARS-CoV-2 result, as labs in England send them.
SNOMED_OUTCOMES = {
    "10828004": "positive",  # Positive
    "260373001": "positive",  # Detected
    "260385009": "negative",  # Negative
    "260415000": "negative",  # Not detected
    "125154007": "void",  # Specimen unsatisfactory for evaluation
    "419984006": "void",  # Inconclusive
}
# Where each of our fields lives in the profile, for error messages.
PATIENT_PATHS = {
    "given_name": "Patient.name.given",
    "family_name": "Patient.name.family",
    "date_of_birth": "Patient.birthDate",
    "nhs_number": "Patient.identifier(nhs-number)",
    "phone": "Patient.telecom(phone)",
    "email": "Patient.telecom(email)",
    "address": "Patient.address.line",
    "postcode": "Patient.address.postalCode",
}
RESULT_PATHS = {
    "lab_code": "lab",
    "lab_result_id": "identifier",
    "outcome": "valueCodeableConcept",
    "specimen_date": "effectiveDateTime",
    "test_code": "code",
    "symptom_onset": "symptom_onset",
}
REPORT_PATHS = {**RESULT_PATHS, "outcome": "conclusionCode"}
MODELS: dict[str, type[pydantic.BaseModel]] = {
    "Patient": Patient,
    "Observation": Observation,
    "DiagnosticReport": DiagnosticReport,
}


def _schema_problems(
    exc: pydantic.ValidationError, *, prefix: str, raw: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """pydantic's complaints as (field, reason), never echoing the input.

    pydantic keeps the input apart from its message; fhir.resources' own messages describe
    the rule. As a belt and braces check a message that happens to contain a submitted string
    is replaced by a generic one.
    """
    submitted = {v for v in _strings(raw) if len(v) >= 3}
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"] if part != "__root__")
        reason = str(error["msg"])[:250]
        if any(value in reason for value in submitted):
            reason = "Not valid FHIR R4 for this element"
        problems.append((f"{prefix}.{location}" if location else prefix, reason))
    return problems


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _codes(concept: Any, system: str) -> list[str]:
    if concept is None:
        return []
    return [c.code for c in (concept.coding or []) if c.system == system and c.code]


AnyPatient = Patient | PlainPatient
AnyResult = Observation | DiagnosticReport | PlainObservation
# The plain shape of these resource types is read without fhir.resources (`fhir_fast`).
PLAIN_READERS = {"Patient": read_patient, "Observation": read_observation}


def _patient_values(patient: AnyPatient) -> dict[str, str]:
    names = patient.name or []
    name = next((n for n in names if n.use == "official"), names[0] if names else None)
    telecom = patient.telecom or []
    addresses = patient.address or []
    address = next((a for a in addresses if a.use == "home"), addresses[0] if addresses else None)
    nhs = next(
        (i.value for i in patient.identifier or [] if i.system == NHS_NUMBER_SYSTEM and i.value),
        "",
    )
    lines = [*(address.line or []), address.city or ""] if address else []
    return {
        "given_name": " ".join(g for g in name.given or [] if g) if name else "",
        "family_name": (name.family or "") if name else "",
        "date_of_birth": patient.birthDate.isoformat() if patient.birthDate else "",
        "nhs_number": nhs,
        "phone": next((t.value for t in telecom if t.system == "phone" and t.value), ""),
        "email": next((t.value for t in telecom if t.system == "email" and t.value), ""),
        "address": ", ".join(line for line in lines if line),
        "postcode": (address.postalCode or "") if address else "",
    }


def _effective_date(resource: AnyResult) -> str:
    moment: Any = resource.effectiveDateTime or (
        resource.effectivePeriod.start if resource.effectivePeriod else None
    )
    if isinstance(moment, datetime):
        return moment.date().isoformat()
    if isinstance(moment, date):
        return moment.isoformat()
    return str(moment or "")


def _is_covid_test(resource: AnyResult) -> bool:
    return any(code in SARS_COV_2_LOINC for code in _codes(resource.code, LOINC))


Parsed = pydantic.BaseModel | PlainPatient | PlainObservation | list[tuple[str, str]]


class _Bundle:
    """The resources of one Bundle, each validated once, addressable by fullUrl."""

    def __init__(self, bundle: Mapping[str, Any], *, row: int, plain: bool = True) -> None:
        self.row = row
        # False: every resource through fhir.resources (tests compare the two readings).
        self.plain = plain
        self.entries: list[Mapping[str, Any]] = [
            e for e in bundle.get("entry") or [] if isinstance(e, Mapping)
        ]
        self.by_url: dict[str, int] = {}
        for i, entry in enumerate(self.entries):
            resource = entry.get("resource")
            if not isinstance(resource, Mapping):
                continue
            if isinstance(entry.get("fullUrl"), str):
                self.by_url[entry["fullUrl"]] = i
            if isinstance(resource.get("id"), str):
                self.by_url[f"{resource.get('resourceType')}/{resource['id']}"] = i
        self._parsed: dict[int, Parsed] = {}

    def resource(self, i: int) -> Parsed:
        if i not in self._parsed:
            raw = self.entries[i].get("resource") or {}
            read_plain = PLAIN_READERS.get(str(raw.get("resourceType"))) if self.plain else None
            if read_plain is not None:
                plain = read_plain(raw)
                if plain is not None:
                    self._parsed[i] = plain
                    return plain
            model = MODELS.get(str(raw.get("resourceType")))
            prefix = f"entry[{i}].{raw.get('resourceType') or 'resource'}"
            if model is None:
                self._parsed[i] = [(prefix, "Not a resource type this profile uses")]
            else:
                try:
                    self._parsed[i] = model.model_validate(raw)
                except pydantic.ValidationError as exc:
                    self._parsed[i] = _schema_problems(exc, prefix=prefix, raw=raw)
        return self._parsed[i]

    def results(self, lab_code: str) -> Iterator[SubmittedResult]:
        referenced = self._observations_in_reports()
        for i, entry in enumerate(self.entries):
            kind = _resource_of(entry).get("resourceType")
            if kind == "Observation" and i not in referenced:
                yield self._result(i, lab_code, report=False)
            elif kind == "DiagnosticReport":
                yield from self._report(i, lab_code)

    def _observations_in_reports(self) -> set[int]:
        """Observations a DiagnosticReport in this Bundle points to: the report's `result`
        entries are read through the report, not twice."""
        found: set[int] = set()
        for entry in self.entries:
            resource = _resource_of(entry)
            if resource.get("resourceType") != "DiagnosticReport":
                continue
            refs = resource.get("result")
            # A malformed `result` is reported when the report itself is validated.
            for ref in refs if isinstance(refs, list) else []:
                if not isinstance(ref, Mapping):
                    continue
                target = self.by_url.get(str(ref.get("reference")))
                if target is not None:
                    found.add(target)
        return found

    def _report(self, i: int, lab_code: str) -> Iterator[SubmittedResult]:
        report = self.resource(i)
        if isinstance(report, DiagnosticReport) and not report.conclusionCode:
            # The report's Observations carry the results.
            for ref in report.result or []:
                target = self.by_url.get(str(ref.reference))
                if target is not None:
                    yield self._result(target, lab_code, report=False)
            return
        yield self._result(i, lab_code, report=True)

    def _result(self, i: int, lab_code: str, *, report: bool) -> SubmittedResult:
        kind = "DiagnosticReport" if report else "Observation"
        prefix = f"entry[{i}].{kind}"
        paths = REPORT_PATHS if report else RESULT_PATHS
        labels = {name: f"{prefix}.{path}" for name, path in paths.items()}
        parsed = self.resource(i)
        if isinstance(parsed, list):
            return SubmittedResult(row=self.row, values={}, labels=labels, problems=tuple(parsed))
        assert isinstance(parsed, Observation | DiagnosticReport | PlainObservation)
        problems: list[tuple[str, str]] = []
        if not _is_covid_test(parsed):
            problems.append(
                (f"{prefix}.code", "Not a SARS-CoV-2 LOINC code we accept (see docs/ingest.md)")
            )
        concept: Any = (
            next(iter(parsed.conclusionCode or []), None)
            if isinstance(parsed, DiagnosticReport)
            else parsed.valueCodeableConcept
        )
        outcomes = {SNOMED_OUTCOMES[c] for c in _codes(concept, SNOMED) if c in SNOMED_OUTCOMES}
        if len(outcomes) != 1:
            problems.append(
                (labels["outcome"], "Give one SNOMED CT result, like 10828004 (Positive)")
            )
        identifier = next((x.value for x in parsed.identifier or [] if x.value), "")
        values = {
            "lab_code": lab_code,
            "lab_result_id": identifier,
            "outcome": next(iter(outcomes)) if len(outcomes) == 1 else "",
            "specimen_date": _effective_date(parsed),
            "test_code": next((c for c in _codes(parsed.code, LOINC) if c in SARS_COV_2_LOINC), ""),
        }
        subject = parsed.subject.reference if parsed.subject else None
        target = self.by_url.get(str(subject)) if subject else None
        if target is None:
            problems.append((f"{prefix}.subject", "Refer to a Patient in the same Bundle"))
        else:
            patient = self.resource(target)
            if isinstance(patient, list):
                problems.extend(patient)
            elif not isinstance(patient, Patient | PlainPatient):
                problems.append((f"{prefix}.subject", "Refer to a Patient in the same Bundle"))
            else:
                values.update(_patient_values(patient))
                labels.update(
                    {name: f"entry[{target}].{path}" for name, path in PATIENT_PATHS.items()}
                )
        return SubmittedResult(row=self.row, values=values, labels=labels, problems=tuple(problems))


def read_bundle(
    bundle: Mapping[str, Any], *, lab_code: str, row: int = 1
) -> Iterator[SubmittedResult]:
    """Results of one Bundle; `row` is its line in an NDJSON file (1 for a single Bundle)."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        yield SubmittedResult(row=row, values={}, problems=(("Bundle", "Send a FHIR Bundle"),))
        return
    if bundle.get("type") not in BUNDLE_TYPES:
        yield SubmittedResult(
            row=row,
            values={},
            problems=(("Bundle.type", "Send a transaction, batch or collection Bundle"),),
        )
        return
    parsed = _Bundle(bundle, row=row)
    found = False
    for result in parsed.results(lab_code):
        found = True
        yield result
    if not found:
        yield SubmittedResult(
            row=row,
            values={},
            problems=(("Bundle.entry", "The Bundle has no SARS-CoV-2 Observation or report"),),
        )


def read_fhir_file(path: Path, *, lab_code: str) -> Iterator[SubmittedResult]:
    """A file holding one Bundle (JSON), or one Bundle per line (NDJSON), read lazily."""
    lines = ndjson_lines(path)
    if lines is None:
        yield from _read_single_document(path, lab_code=lab_code)
        return
    for number, line in lines:
        yield from read_ndjson_line(number, line, lab_code=lab_code)


def ndjson_lines(path: Path) -> Iterator[tuple[int, bytes]] | None:
    """The numbered non-blank lines of an NDJSON file, read lazily; None for a file holding
    one JSON document. Raises UnreadableFile (when iterated) if the file is not FHIR JSON or
    cannot be read."""
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
            while first.isspace():
                first = handle.read(1)
        if first == b"{" and _is_single_document(path):
            return None
    except OSError:
        pass  # reported by the lines, when read
    return _lines(path)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
            while first.isspace():
                first = handle.read(1)
            handle.seek(0)
            if first != b"{":
                raise UnreadableFile("The file is not FHIR JSON: it should start with '{'.")
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except OSError as exc:
        raise UnreadableFile(f"The file cannot be read ({exc.strerror}).") from None


def read_ndjson_line(number: int, line: bytes, *, lab_code: str) -> Iterator[SubmittedResult]:
    """The results of line `number` of an NDJSON file (one Bundle)."""
    try:
        bundle = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        yield SubmittedResult(
            row=number, values={}, problems=(("Bundle", "This line is not JSON"),)
        )
        return
    yield from read_bundle(bundle, lab_code=lab_code, row=number)


def _read_single_document(path: Path, *, lab_code: str) -> Iterator[SubmittedResult]:
    try:
        with path.open("rb") as handle:
            try:
                bundle = json.load(handle)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise UnreadableFile(
                    "The file is not valid JSON: check it and send it again."
                ) from None
    except OSError as exc:
        raise UnreadableFile(f"The file cannot be read ({exc.strerror}).") from None
    yield from read_bundle(bundle, lab_code=lab_code, row=1)


def _is_single_document(path: Path) -> bool:
    """One JSON document (a pretty-printed Bundle) rather than NDJSON: the first line alone
    is not a complete JSON value."""
    with path.open("rb") as handle:
        first_line = handle.readline()
    try:
        json.loads(first_line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return True
    return False


def _resource_of(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    resource = entry.get("resource")
    return resource if isinstance(resource, Mapping) else {}
