"""Factories for people: details in clear, and Person rows made through the real service."""

from __future__ import annotations

from datetime import date
from typing import Any

import factory
from nhs_number import calculate_checksum

from confide.people.details import PersonDetails
from confide.people.models import Person
from confide.people.services import create_person

# Real-format postcodes (Royal Mail's published examples and landmarks).
POSTCODES = ["SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT"]


def valid_nhs_number(n: int) -> str:
    """The n-th of a deterministic series of valid NHS numbers in the synthetic 9xx range."""
    body = 900_000_000 + 10 * n
    while calculate_checksum(f"{body:09d}") == 10:  # no valid check digit: skip this body
        body += 1
    return f"{body:09d}{calculate_checksum(f'{body:09d}')}"


class PersonDetailsFactory(factory.Factory[PersonDetails]):
    """Valid details; phone numbers come from Ofcom's drama ranges, emails from example.org."""

    class Meta:
        model = PersonDetails

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.Faker(
        "date_between", start_date=date(1940, 1, 1), end_date=date(2000, 12, 31)
    )
    nhs_number = factory.Sequence(valid_nhs_number)
    # 01632 960xxx: tests pick their own numbers from 07700 900xxx, so never collide with these.
    phone = factory.Sequence(lambda n: f"01632 960{n % 1000:03d}")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    address = factory.Faker("street_address")
    postcode = factory.Iterator(POSTCODES)


class PersonFactory(factory.Factory[Person]):
    """A saved Person, sealed by `create_person` (never by writing rows directly)."""

    class Meta:
        model = Person

    details = factory.SubFactory(PersonDetailsFactory)
    today = None

    @classmethod
    def _create(cls, model_class: type[Person], *args: Any, **kwargs: Any) -> Person:
        return create_person(details=kwargs["details"], today=kwargs["today"])
