"""Reads about staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from confide.staff.models import Course, StaffMember, Team, TrainingCohort, TrainingRecord


def has_in_date_data_protection_training(member: StaffMember, *, on: date) -> bool:
    return TrainingRecord.objects.filter(
        staff_member=member,
        course=Course.DATA_PROTECTION,
        completed_on__lte=on,
        expires_on__gte=on,
    ).exists()


def in_date_data_protection_training_sql(*, member_id_column: str, on: date) -> RawSQL:
    """`has_in_date_data_protection_training` as an SQL expression on a column holding a
    member's id, to load it with the member in the same query. Written as SQL because the
    ORM's `Exists()` cost more CPU to build on every request than the query it saved; a test
    holds the two definitions to the same answers."""
    table = connection.ops.quote_name(TrainingRecord._meta.db_table)
    day = connection.ops.adapt_datefield_value(on)
    return RawSQL(  # noqa: S611 — names are ours, values are parameters
        f"EXISTS (SELECT 1 FROM {table} WHERE staff_member_id = {member_id_column} "  # noqa: S608
        "AND course = %s AND completed_on <= %s AND expires_on >= %s)",
        (Course.DATA_PROTECTION.value, day, day),
        output_field=BooleanField(),
    )


# Asked several times a page (the view's permission, then each link the page offers): kept on
# the member, which is loaded afresh for each request (confide/staff/auth.py), for that day.
TRAINED_ON = "_confide_trained_on"


def remember_training(member: StaffMember, *, on: date, trained: bool) -> None:
    setattr(member, TRAINED_ON, (on, trained))


def trained_today(member: StaffMember) -> bool:
    """`has_in_date_data_protection_training` today, asked once per member instance."""
    today = timezone.localdate()
    known = getattr(member, TRAINED_ON, None)
    if known is not None and known[0] == today:
        return bool(known[1])
    trained = has_in_date_data_protection_training(member, on=today)
    remember_training(member, on=today, trained=trained)
    return trained


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
