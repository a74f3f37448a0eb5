"""The case state machine: which status may follow which."""

from __future__ import annotations

from confide.cases.models import CaseStatus as S

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.ASSIGNED, S.ESCALATED, S.CLOSED}),
    # Back to NEW when a claim times out or a supervisor returns it to the queue.
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.NEW, S.ESCALATED, S.UNREACHABLE}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.UNREACHABLE, S.ESCALATED, S.NEW}),
    S.ESCALATED: frozenset({S.ASSIGNED, S.CLOSED}),
    S.UNREACHABLE: frozenset({S.ASSIGNED, S.CLOSED}),
    S.COMPLETED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


class TransitionNotAllowed(Exception):
    def __init__(self, from_status: str, to_status: str) -> None:
        super().__init__(f"A case cannot move from {from_status} to {to_status}.")
        self.from_status = from_status
        self.to_status = to_status


def check_transition(from_status: str, to_status: str) -> None:
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise TransitionNotAllowed(from_status, to_status)
