from __future__ import annotations

import uuid

from django.db import models

from confide.privacy.blind_index import INDEX_HEX_LENGTH
from confide.privacy.models import DataKey

# Every personal field of a Person: stored sealed in `<name>_sealed` under the person's own
# data key. Kept in one tuple so services, selectors and the records-of-processing page agree.
PERSON_SEALED_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "nhs_number",
    "phone",
    "email",
    "address",
    "postcode",
)


def _index_field() -> models.CharField:
    return models.CharField(max_length=INDEX_HEX_LENGTH, null=True, blank=True, editable=False)


class Person(models.Model):
    """A data subject: a case, a contact, or both. Nothing personal is stored in clear."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    data_key = models.OneToOneField(DataKey, on_delete=models.PROTECT)

    given_name_sealed = models.BinaryField(null=True)
    family_name_sealed = models.BinaryField(null=True)
    date_of_birth_sealed = models.BinaryField(null=True)
    nhs_number_sealed = models.BinaryField(null=True)
    phone_sealed = models.BinaryField(null=True)
    email_sealed = models.BinaryField(null=True)
    address_sealed = models.BinaryField(null=True)
    postcode_sealed = models.BinaryField(null=True)

    nhs_number_index = _index_field()
    email_index = _index_field()
    phone_index = _index_field()
    surname_dob_index = _index_field()
    postcode_index = _index_field()

    # Not identifying: which language to write to them in (English or Welsh).
    preferred_language = models.CharField(
        max_length=2, choices=[("en", "English"), ("cy", "Cymraeg")], default="en"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Set when a supervisor found this record to be a duplicate of another (confide.matching);
    # its cases, results and exposures then point at that person, until the merge is undone.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["nhs_number_index"], name="person_nhs_bidx"),
            models.Index(fields=["email_index"], name="person_email_bidx"),
            models.Index(fields=["phone_index"], name="person_phone_bidx"),
            models.Index(fields=["surname_dob_index"], name="person_surname_dob_bidx"),
            # No index of postcode_index: matching finds people by surname + date of birth and
            # compares their postcodes in memory, and nothing looks a person up by postcode
            # alone, so an index would only cost every new person one more random insert.
        ]

    def __str__(self) -> str:
        return f"Person {self.reference}"


class SafeguardingKind(models.TextChoices):
    RISK_FROM_HOUSEHOLD = "risk_from_household", "At risk from someone in their household"
    DO_NOT_DISCLOSE_ADDRESS = "do_not_disclose_address", "Do not disclose their address"
    PHONE_ONLY = "phone_only", "Contact by phone only (no texts, emails or letters)"
    NO_LETTERS = "no_letters", "Do not send letters"


class SafeguardingFlag(models.Model):
    """A flag that changes what staff see and how Confide may contact the person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="safeguarding")
    kind = models.CharField(max_length=32, choices=SafeguardingKind.choices)
    set_by_reference = models.UUIDField(null=True, blank=True)
    set_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind"],
                condition=models.Q(cleared_at__isnull=True),
                name="safeguarding_flag_once",
            )
        ]

    def __str__(self) -> str:
        return f"SafeguardingFlag {self.pk} ({self.kind})"
