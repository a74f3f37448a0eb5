"""What each kind of message may say: the personalisation fields its templates may use.

A template can reference only its kind's fields, and rendering receives only those values,
so a contact's notification has no way to reach the case who named them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class TemplateKind(models.TextChoices):
    CONTACT_NOTIFICATION = "contact_notification", "Contact: told to self-isolate"
    CASE_SELF_SERVICE = "case_self_service", "Case: link to give contacts online"
    FOLLOW_UP_REMINDER = "follow_up_reminder", "Daily check-in reminder"
    BOOK_A_TEST = "book_a_test", "Contact with symptoms: book a test"
    STAFF_BROADCAST = "staff_broadcast", "Staff: message to a group, sent one by one"
    VERIFICATION_CODE = "verification_code", "Public: one-time security code"


class Audience(models.TextChoices):
    PUBLIC = "public", "Members of the public"
    STAFF = "staff", "Staff"


@dataclass(frozen=True)
class TemplateType:
    kind: str
    audience: str
    fields: frozenset[str]
    sample: dict[str, str]


TEMPLATE_TYPES: dict[str, TemplateType] = {
    t.kind: t
    for t in (
        TemplateType(
            kind=TemplateKind.CONTACT_NOTIFICATION,
            audience=Audience.PUBLIC,
            # The contact's own first name and dates; nothing of the case, not even their test date.
            fields=frozenset({"first_name", "isolation_ends_on", "support_link"}),
            sample={
                "first_name": "Sam",
                "isolation_ends_on": "Friday 4 December 2026",
                "support_link": "https://confide.example/c/EXAMPLE",
            },
        ),
        TemplateType(
            kind=TemplateKind.CASE_SELF_SERVICE,
            audience=Audience.PUBLIC,
            fields=frozenset({"first_name", "self_service_link", "link_expires_on"}),
            sample={
                "first_name": "Alex",
                "self_service_link": "https://confide.example/s/EXAMPLE",
                "link_expires_on": "Saturday 28 November 2026",
            },
        ),
        TemplateType(
            kind=TemplateKind.FOLLOW_UP_REMINDER,
            audience=Audience.PUBLIC,
            fields=frozenset({"first_name", "check_in_link"}),
            sample={"first_name": "Sam", "check_in_link": "https://confide.example/c/EXAMPLE"},
        ),
        TemplateType(
            kind=TemplateKind.BOOK_A_TEST,
            audience=Audience.PUBLIC,
            # Only the contact's own first name: not the case, not their symptoms.
            fields=frozenset({"first_name", "test_booking_link"}),
            sample={
                "first_name": "Sam",
                "test_booking_link": "https://www.gov.uk/get-coronavirus-test",
            },
        ),
        TemplateType(
            kind=TemplateKind.STAFF_BROADCAST,
            audience=Audience.STAFF,
            fields=frozenset({"first_name", "group_name"}),
            sample={"first_name": "Jo", "group_name": "New starters November 2026"},
        ),
        TemplateType(
            kind=TemplateKind.VERIFICATION_CODE,
            audience=Audience.PUBLIC,
            # The code alone: not even a name, in case the phone or inbox is shared.
            fields=frozenset({"code"}),
            sample={"code": "492015"},
        ),
    )
}
