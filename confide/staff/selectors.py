"""Reads about staff."""

from __future__ import annotations

from datetime import date

from confide.staff.models import Course, StaffMember, TrainingRecord


def has_in_date_data_protection_training(member: StaffMember, *, on: date) -> bool:
    return TrainingRecord.objects.filter(
        staff_member=member,
        course=Course.DATA_PROTECTION,
        completed_on__lte=on,
        expires_on__gte=on,
    ).exists()
