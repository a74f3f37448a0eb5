from __future__ import annotations

from django.db import models

from confide.people.models import Person
from confide.staff.models import StaffMember


class PersonEncoding(models.Model):
    """A person's keyed encoding for fuzzy matching (see encoding.py): Bloom filters and keyed
    tokens, no plaintext; unreadable without the index key held outside the database."""

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, primary_key=True, related_name="match_encoding"
    )
    version = models.PositiveSmallIntegerField()
    encoding = models.BinaryField()

    def __str__(self) -> str:
        return f"PersonEncoding {self.pk}"


class BlockingKey(models.Model):
    """One keyed blocking key of a person: candidates are the people sharing a key."""

    key = models.BigIntegerField()
    # The foreign key's own index serves erasure and merges (by person); a second index on
    # the same column cost an import an index entry per key for nothing.
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["key", "person"], name="blocking_key_lookup")]

    def __str__(self) -> str:
        return f"BlockingKey {self.pk}"


class ReviewState(models.TextChoices):
    OPEN = "open", "Waiting for a decision"
    MERGED = "merged", "Same person: merged"
    SEPARATE = "separate", "Different people"


class MatchReview(models.Model):
    """A likely match waiting for a supervisor: is `person` the same as `candidate`?

    `person` is the newer record (just created by a result or a named contact); `candidate`
    the one already held. The decision is recorded here (who, when, why) and in the access log.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    source = models.CharField(max_length=32, help_text="what created the person: result, contact")
    state = models.CharField(max_length=8, choices=ReviewState.choices, default=ReviewState.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="match_review_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "candidate"],
                condition=models.Q(state="open"),
                name="match_review_open_once",
            ),
            models.CheckConstraint(
                name="match_review_two_people", condition=~models.Q(person=models.F("candidate"))
            ),
            models.CheckConstraint(
                name="match_review_decided_has_who_and_why",
                condition=models.Q(state="open")
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"MatchReview {self.pk} ({self.state})"


class Merge(models.Model):
    """`merged` was found to be `kept`: its records now point at `kept`.

    `moved` lists every row re-pointed, by kind, so an undo puts exactly those rows back.
    """

    kept = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    review = models.ForeignKey(
        MatchReview, on_delete=models.PROTECT, null=True, blank=True, related_name="merges"
    )
    moved = models.JSONField(default=dict)
    merged_by = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=500)
    undone_by = models.ForeignKey(
        StaffMember, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        # The review queue lists the latest merges (for undoing) without sorting them all.
        indexes = [models.Index(fields=["-merged_at", "-id"], name="merge_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["merged"],
                condition=models.Q(undone_at__isnull=True),
                name="merge_in_force_once",
            ),
            models.CheckConstraint(
                name="merge_undone_has_who",
                condition=models.Q(undone_at__isnull=True) | models.Q(undone_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Merge {self.pk}"
