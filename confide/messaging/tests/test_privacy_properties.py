"""Issue 3's privacy invariant, as properties: a contact's message never carries the case.

Each example runs the real path — create_person, open_case, save_template_version,
record_exposure (which calls notify_contact), envelope_for — inside a savepoint that is rolled
back, so examples do not see each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from email.utils import getaddresses

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import translation
from django.utils.formats import date_format
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from confide.cases.services import open_case
from confide.messaging.dispatch import envelope_for
from confide.messaging.guard import sms_recipient_problem
from confide.messaging.models import Channel, Language, Message
from confide.messaging.services import save_template_version
from confide.messaging.template_types import TEMPLATE_TYPES, TemplateKind
from confide.messaging.tests.strategies import (
    TemplateText,
    identifying_values,
    person_details,
    template_texts,
)
from confide.messaging.transports import Envelope
from confide.people.details import PersonDetails
from confide.people.selectors import person_details as stored_details
from confide.people.services import create_person
from confide.tracing.models import Exposure, Proximity
from confide.tracing.services import record_exposure

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CONTACT_FIELDS = TEMPLATE_TYPES[TemplateKind.CONTACT_NOTIFICATION].fields
channels = st.sampled_from([Channel.EMAIL, Channel.SMS, Channel.LETTER])
languages = st.sampled_from([Language.ENGLISH, Language.WELSH])


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def contact_details_for(channel: str) -> st.SearchStrategy[PersonDetails]:
    """A contact reached through `channel`: notify_contact prefers email, then phone, then post."""
    return person_details(email=channel == Channel.EMAIL, phone=channel != Channel.LETTER)


def long_dates(day: date) -> list[str]:
    out = []
    for language in (Language.ENGLISH, Language.WELSH):
        with translation.override(language):
            out.append(date_format(day, "l j F Y"))
    return out


@st.composite
def case_dates(draw: st.DrawFn) -> tuple[date, date | None, date]:
    """Specimen date, symptom onset (or none) and the day the case was opened."""
    specimen = draw(st.dates(min_value=date(2020, 6, 1), max_value=date(2021, 3, 31)))
    onset = draw(st.one_of(st.none(), st.integers(0, 5).map(lambda d: specimen - timedelta(d))))
    today = specimen + timedelta(days=draw(st.integers(1, 3)))
    return specimen, onset, today


def record_contact(
    data: st.DataObject, *, case_details: PersonDetails, contact_details: PersonDetails, lang: str
) -> tuple[Exposure, PersonDetails]:
    """Open a random case, name the contact, and return the exposure and the case's details."""
    specimen, onset, today = data.draw(case_dates(), label="case dates")
    case = open_case(
        person=create_person(details=case_details, today=today),
        specimen_date=specimen,
        symptom_onset=onset,
        today=today,
    )
    contact = create_person(details=contact_details, today=today)
    contact.preferred_language = lang
    contact.save(update_fields=["preferred_language"])
    last_contact = data.draw(
        st.dates(min_value=case.infectious_from, max_value=min(case.infectious_until, today)),
        label="last contact",
    )
    exposure = record_exposure(
        case=case,
        contact=contact,
        last_contact=last_contact,
        proximity=Proximity.CLOSE,
        today=today,
    )
    return exposure, stored_details(case.person)


def forbidden_values(case: PersonDetails, exposure: Exposure) -> list[str]:
    """Everything of the case's, including their test date written the way templates write it."""
    return identifying_values(case) + long_dates(exposure.case.specimen_date)


def assume_not_already_in(text: str, forbidden: list[str]) -> None:
    """Drop examples where the template or the contact's own details happen to contain one of
    the case's values (two people may share a first name): the property is about leaks."""
    folded = text.casefold()
    for value in forbidden:
        assume(value.casefold() not in folded)


def legitimate_text(template: TemplateText, exposure: Exposure, contact: PersonDetails) -> str:
    return "\n".join(
        [
            template.literal,
            contact.given_name,
            *long_dates(exposure.isolation_ends_on),
            f"{django_settings.CONFIDE_PUBLIC_BASE_URL}/support/",
        ]
    )


def assert_mentions_none_of(envelope: Envelope, forbidden: list[str]) -> None:
    shown = f"{envelope.subject}\n{envelope.body}".casefold()
    leaked = [value for value in forbidden if value.casefold() in shown]
    assert leaked == [], "the contact's message shows something of the case's"


def assert_one_recipient(message: Message, envelope: Envelope, contact: PersonDetails) -> None:
    assert message.person_id is not None
    assert message.staff_member_id is None
    if message.channel == Channel.EMAIL:
        assert [a for _n, a in getaddresses([envelope.recipient])] == [contact.email]
    elif message.channel == Channel.SMS:
        assert sms_recipient_problem(envelope.recipient) is None
        assert envelope.recipient == contact.phone
    else:
        assert envelope.recipient == f"{contact.address}\n{contact.postcode}"


@PROPERTY
@given(
    data=st.data(),
    channel=channels,
    language=languages,
    case_details=person_details(),
    template=template_texts(fields=CONTACT_FIELDS),
)
def test_a_contact_message_from_any_valid_template_never_contains_the_cases_details(
    db, data, channel, language, case_details, template
):
    contact_details = data.draw(contact_details_for(channel), label="contact")
    with rolled_back():
        saved = save_template_version(
            kind=TemplateKind.CONTACT_NOTIFICATION,
            channel=channel,
            language=language,
            name="Property test template",
            subject=template.subject,
            body=template.body,
            by=None,
        )
        exposure, case = record_contact(
            data, case_details=case_details, contact_details=contact_details, lang=language
        )
        forbidden = forbidden_values(case, exposure)
        contact = stored_details(exposure.contact)
        assume_not_already_in(legitimate_text(template, exposure, contact), forbidden)

        message = exposure.notification_message
        assert message is not None
        assert message.template_id == saved.pk
        assert_mentions_none_of(envelope_for(message), forbidden)


@PROPERTY
@given(data=st.data(), channel=channels, language=languages, case_details=person_details())
def test_a_contact_message_from_the_default_templates_never_contains_the_cases_details(
    db, data, channel, language, case_details
):
    contact_details = data.draw(contact_details_for(channel), label="contact")
    with rolled_back():
        exposure, case = record_contact(
            data, case_details=case_details, contact_details=contact_details, lang=language
        )
        message = exposure.notification_message
        assert message is not None
        template = TemplateText(subject=message.template.subject, body=message.template.body)
        forbidden = forbidden_values(case, exposure)
        contact = stored_details(exposure.contact)
        assume_not_already_in(legitimate_text(template, exposure, contact), forbidden)

        assert_mentions_none_of(envelope_for(message), forbidden)


@PROPERTY
@given(data=st.data(), channel=channels, case_details=person_details())
def test_every_contact_notification_is_one_message_to_the_contact_alone(
    db, data, channel, case_details
):
    contact_details = data.draw(contact_details_for(channel), label="contact")
    # A household contact often shares the case's surname and address; still only theirs.
    contact_details = replace(
        contact_details, family_name=case_details.family_name, address=case_details.address
    )
    with rolled_back():
        exposure, _case = record_contact(
            data, case_details=case_details, contact_details=contact_details, lang="en"
        )
        messages = list(Message.objects.filter(person=exposure.contact))
        assert len(messages) == 1
        assert Message.objects.filter(person=exposure.case.person).count() == 0
        assert messages[0].channel == channel
        assert_one_recipient(
            messages[0], envelope_for(messages[0]), stored_details(exposure.contact)
        )
