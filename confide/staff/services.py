"""Writes about staff: accounts with sealed contact details, and training records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from confide.people.validation import normalise_email, normalise_name, normalise_phone
from confide.privacy.crypto import SubjectKey, new_data_key, unwrap_data_key
from confide.staff.auth import staff_email_index
from confide.staff.models import STAFF_SEALED_FIELDS, Course, Role, StaffMember, TrainingRecord

# Annual refresher, as NHS Data Security and Protection Toolkit training requires.
DATA_PROTECTION_TRAINING_VALID_FOR = timedelta(days=365)


def build_staff_member(
    *,
    display_name: str,
    email: str,
    role: str,
    phone: str = "",
    password: str | None = None,
    password_hash: str | None = None,
    **extra: Any,
) -> StaffMember:
    """A sealed, unsaved staff member (its DataKey unsaved too): see create_staff_member."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, str] = {}
    for field, check in (
        ("display_name", lambda: normalise_name(display_name, label="name")),
        ("email", lambda: normalise_email(email)),
        ("phone", lambda: normalise_phone(phone) if phone else ""),
    ):
        try:
            clean[field] = check()
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if role not in Role.values:
        errors.setdefault("role", []).append("Choose a role from the list")
    if errors:
        raise ValidationError(errors)
    data_key, key = new_data_key()
    member = StaffMember(
        data_key=data_key, email_index=staff_email_index(clean["email"]), role=role, **extra
    )
    for name in STAFF_SEALED_FIELDS:
        setattr(member, f"{name}_sealed", key.seal(f"staff.{name}", clean[name]))
    if password_hash:
        member.password = password_hash
    elif password:
        member.set_password(password)
    else:
        member.set_unusable_password()
    return member


def create_staff_member(**kwargs: Any) -> StaffMember:
    member = build_staff_member(**kwargs)
    duplicate = ValidationError(
        {"email": ["A staff member with this email address already exists"]}
    )
    if StaffMember.objects.filter(email_index=member.email_index).exists():
        raise duplicate
    try:
        with transaction.atomic():
            member.data_key.save(force_insert=True)
            member.save(force_insert=True)
    except IntegrityError as exc:  # the same address created at the same moment elsewhere
        raise duplicate from exc
    return member


def staff_contact_details(
    member: StaffMember, *, key: SubjectKey | None = None
) -> dict[str, str | None]:
    key = key or unwrap_data_key(member.data_key)
    return {
        name: key.open(f"staff.{name}", getattr(member, f"{name}_sealed"))
        for name in STAFF_SEALED_FIELDS
    }


def password_confirmed(request: HttpRequest, member: StaffMember, password: str) -> bool:
    """The signed-in member's password asked again before a change to how they sign in (a
    passkey added), so a session left open cannot add a way in. It goes through the same
    backends as signing in, so wrong guesses count towards django-axes' lockout."""
    email = staff_contact_details(member)["email"]
    return authenticate(request, username=email, password=password) == member


def record_training(
    *, staff_member: StaffMember, course: str, completed_on: date, recorded_by: StaffMember | None
) -> TrainingRecord:
    if course not in Course.values:
        raise ValidationError({"course": ["Choose a course from the list"]})
    return TrainingRecord.objects.create(
        staff_member=staff_member,
        course=course,
        completed_on=completed_on,
        expires_on=completed_on + DATA_PROTECTION_TRAINING_VALID_FOR,
        recorded_by=recorded_by,
    )
