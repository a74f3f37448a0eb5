"""Reads about staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from confide.staff.models import Course, StaffMember, Team, TrainingCohort, TrainingRecord


def has_in_date_data_protection_training(member: StaffMember, *, on: date) -> bool:
    return TrainingRecord.objects.filter(
        staff_member=member,
        course=Course.DATA_PROTECTION,
        completed_on__lte=on,
        expires_on__gte=on,
    ).exists()


@dataclass(frozen=True)
class StaffGroup:
    """A group a supervisor can message: a training cohort, a team, new starters, everyone."""

    key: str
    name: str


NEW_STARTER_DAYS = 30


def staff_groups() -> list[StaffGroup]:
    groups = [
        StaffGroup(f"cohort:{c.pk}", f"Training cohort: {c.name}")
        for c in TrainingCohort.objects.order_by("-starts_on")
    ]
    groups += [StaffGroup(f"team:{t.pk}", f"Team: {t.name}") for t in Team.objects.order_by("name")]
    groups += [
        StaffGroup("new_starters", f"Everyone who joined in the last {NEW_STARTER_DAYS} days"),
        StaffGroup("everyone", "All active staff"),
    ]
    return groups


def staff_group_members(key: str) -> QuerySet[StaffMember]:
    """Active members of a group; an unknown key is an empty group."""
    active = StaffMember.objects.filter(is_active=True).select_related("data_key")
    kind, _, ident = key.partition(":")
    if kind == "cohort" and ident.isdigit():
        return active.filter(cohorts__pk=int(ident))
    if kind == "team" and ident.isdigit():
        return active.filter(team_id=int(ident))
    if key == "new_starters":
        return active.filter(date_joined__gte=timezone.now() - timedelta(days=NEW_STARTER_DAYS))
    if key == "everyone":
        return active
    return active.none()
