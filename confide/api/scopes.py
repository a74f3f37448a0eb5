"""What an API token may do. A client holds a set of these; each operation requires one."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    # A lab: submit results as itself, and read the status of its own submissions.
    RESULTS_SUBMIT = "results:submit"
    # An integration: cases in the tiers it is entitled to.
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    CONTACTS_WRITE = "contacts:write"
    # Find a person's reference (and their cases' status) by NHS number.
    PEOPLE_LOOKUP = "people:lookup"
    # Adds the person's own details to a case read; every such read is in the access log.
    PEOPLE_READ = "people:read"


ALL_SCOPES = frozenset(Scope)
