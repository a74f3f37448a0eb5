"""Public-health rules computed from a Policy row (never from constants in code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from confide.cases.models import Policy


class NoPolicyInForce(Exception):
    """No guidance covers the date; an administrator must add a Policy row first."""


@dataclass(frozen=True)
class InfectiousPeriod:
    starts_on: date
    ends_on: date

    def contains(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def policy_in_force(on: date) -> Policy:
    policy = Policy.objects.filter(effective_from__lte=on).order_by("-effective_from").first()
    if policy is None:
        raise NoPolicyInForce(f"No policy is in force on {on.isoformat()}.")
    return policy


def infectious_period(
    *, policy: Policy, specimen_date: date, symptom_onset: date | None
) -> InfectiousPeriod:
    """From N days before symptom onset (or the specimen date if asymptomatic) to M days after."""
    anchor = symptom_onset or specimen_date
    return InfectiousPeriod(
        starts_on=anchor - timedelta(days=policy.infectious_days_before),
        ends_on=anchor + timedelta(days=policy.infectious_days_after),
    )


def contact_isolation_ends_on(*, policy: Policy, last_contact: date) -> date:
    """The last day of a contact's isolation, counted from their last contact with the case."""
    return last_contact + timedelta(days=policy.contact_isolation_days)
