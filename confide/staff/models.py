from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from confide.privacy.blind_index import INDEX_HEX_LENGTH
from confide.privacy.crypto import SubjectKey, unwrap_data_key
from confide.privacy.models import DataKey


class Role(models.TextChoices):
    CALL_HANDLER = "call_handler", "Call handler (tier 3)"
    CLINICIAN = "clinician", "Clinician (tier 2)"
    HEALTH_PROTECTION = "health_protection", "Health protection officer (tier 1)"
    SUPERVISOR = "supervisor", "Supervisor"
    DATA_PROTECTION_OFFICER = "dpo", "Data protection officer"
    ADMINISTRATOR = "administrator", "Administrator"
    SUPPORT_OFFICER = "support_officer", "Local authority support officer"


class Tier(models.IntegerChoices):
    """England's 2020 tiers: 1 local health protection, 2 clinicians, 3 call handlers."""

    LOCAL_HEALTH_PROTECTION = 1, "Tier 1: local health protection"
    CLINICAL = 2, "Tier 2: clinicians and case workers"
    CALL_HANDLING = 3, "Tier 3: call handlers"


ROLE_TIER: dict[str, int | None] = {
    Role.CALL_HANDLER: Tier.CALL_HANDLING,
    Role.CLINICIAN: Tier.CLINICAL,
    Role.HEALTH_PROTECTION: Tier.LOCAL_HEALTH_PROTECTION,
    Role.SUPERVISOR: None,
    Role.DATA_PROTECTION_OFFICER: None,
    Role.ADMINISTRATOR: None,
    Role.SUPPORT_OFFICER: None,
}

STAFF_SEALED_FIELDS = ("display_name", "email", "phone")


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    area = models.CharField(max_length=120, blank=True)

    def __str__(self) -> str:
        return self.name


class StaffManager(BaseUserManager["StaffMember"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> StaffMember:
        from confide.staff.services import create_staff_member

        return create_staff_member(
            display_name=extra.pop("display_name", email.split("@")[0]),
            email=email,
            password=password,
            role=extra.pop("role", Role.CALL_HANDLER),
            **extra,
        )

    def create_superuser(
        self, email: str, password: str | None = None, **extra: Any
    ) -> StaffMember:
        extra.setdefault("role", Role.ADMINISTRATOR)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class StaffMember(AbstractBaseUser, PermissionsMixin):
    """A member of staff. Their own contact details are personal data too, so sealed.

    Sign-in is by email through a blind index: the address is never stored in clear.
    """

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email_index = models.CharField(max_length=INDEX_HEX_LENGTH, unique=True)
    data_key = models.OneToOneField(DataKey, on_delete=models.PROTECT)
    display_name_sealed = models.BinaryField(null=True)
    email_sealed = models.BinaryField(null=True)
    phone_sealed = models.BinaryField(null=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "email_index"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects = StaffManager()

    class Meta:
        verbose_name = "staff member"

    @property
    def tier(self) -> int | None:
        return ROLE_TIER[self.role]

    def __str__(self) -> str:
        return f"Staff {self.reference}"


class TrainingCohort(models.Model):
    """A group of new starters trained together (the 2020 leak was an email to such a group)."""

    name = models.CharField(max_length=120, unique=True)
    starts_on = models.DateField()
    members = models.ManyToManyField(StaffMember, related_name="cohorts", blank=True)

    def __str__(self) -> str:
        return self.name


class Course(models.TextChoices):
    DATA_PROTECTION = "data_protection", "Data protection and confidentiality"
    CONTACT_TRACING = "contact_tracing", "Contact tracing and call scripts"
    SAFEGUARDING = "safeguarding", "Safeguarding"
    CLINICAL = "clinical", "Clinical case interviews"


class TrainingRecord(models.Model):
    staff_member = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="training")
    course = models.CharField(max_length=32, choices=Course.choices)
    completed_on = models.DateField()
    expires_on = models.DateField()
    recorded_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["staff_member", "course", "expires_on"], name="training_in_date")
        ]
        constraints = [
            models.CheckConstraint(
                name="training_expires_after_completion",
                condition=models.Q(expires_on__gte=models.F("completed_on")),
            )
        ]

    def __str__(self) -> str:
        return f"{self.course} for staff {self.staff_member_id}"


class Passkey(Device):
    """A WebAuthn passkey a member registered: a second factor at sign-in instead of the
    authenticator app's code. A django-otp device, so signing in with it leaves the same
    verified session (`otp_login`) that every staff view checks.

    Nothing here identifies the person: the credential id and public key are the
    authenticator's, and the passkey was made for the member's random `reference`."""

    # No reverse accessor: django-otp's Device is untyped, so mypy's Django plugin could not
    # resolve one on StaffMember. `Passkey.objects.filter(user=...)` is how they are found.
    user: models.ForeignKey[StaffMember, StaffMember] = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="+"
    )
    # base64url of the credential id (at most 1,023 bytes, so at most 1,364 characters).
    credential_id: models.CharField[str, str] = models.CharField(max_length=1400, unique=True)
    public_key: models.BinaryField[bytes, bytes] = models.BinaryField()
    sign_count: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(default=0)
    transports: models.JSONField[list[str], list[str]] = models.JSONField(default=list, blank=True)
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(auto_now_add=True)
    last_used_at: models.DateTimeField[datetime | None, datetime | None] = models.DateTimeField(
        null=True, blank=True
    )

    def verify_token(self, token: Any) -> bool:
        return (
            False  # a passkey answers a WebAuthn challenge (confide/staff/passkeys.py), not a code
        )

    def __str__(self) -> str:
        return f"Passkey {self.pk}"


AUTHENTICATOR_KEY_FIELD = "staff.authenticator_key"


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """A member's authenticator app (TOTP, RFC 6238): django-otp's TOTPDevice with its shared
    secret sealed under the member's data key. django-otp stores the secret as plain hex, so a
    copy of the database would let anyone holding a password make the second factor too.

    The code check, throttling and set-up URL are TOTPDevice's own methods, used as they are:
    they read only the attributes below and `bin_key`, which here opens the sealed secret."""

    user: models.ForeignKey[StaffMember, StaffMember] = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="+"
    )
    key_sealed: models.BinaryField[bytes, bytes] = models.BinaryField()
    step: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=30)
    t0: models.BigIntegerField[int, int] = models.BigIntegerField(default=0)
    digits: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        choices=[(6, 6), (8, 8)], default=6
    )
    tolerance: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        default=1
    )
    drift: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    last_t: models.BigIntegerField[int, int] = models.BigIntegerField(default=-1)

    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings

    @classmethod
    def sealed_key(cls, key: SubjectKey, hex_key: str | None = None) -> bytes:
        """A new (or the given) 20-byte secret, hex as django-otp writes it, sealed."""
        sealed = key.seal(AUTHENTICATOR_KEY_FIELD, hex_key or random_hex(20))
        assert sealed is not None
        return sealed

    @classmethod
    def new_for(cls, member: StaffMember, *, name: str, confirmed: bool) -> AuthenticatorApp:
        key = unwrap_data_key(member.data_key)
        return cls.objects.create(
            user=member, name=name, confirmed=confirmed, key_sealed=cls.sealed_key(key)
        )

    @property
    def bin_key(self) -> bytes:
        opened = unwrap_data_key(self.user.data_key).open(AUTHENTICATOR_KEY_FIELD, self.key_sealed)
        assert opened is not None
        return bytes.fromhex(opened)

    def __str__(self) -> str:
        return f"Authenticator app {self.pk}"
