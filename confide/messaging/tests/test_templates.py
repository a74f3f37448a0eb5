"""Templates: what each kind may say, versions, the Welsh fallback and the seeded defaults."""

from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from confide.messaging.models import Channel, Language, MessageTemplate
from confide.messaging.services import (
    NoTemplate,
    current_template,
    preview,
    save_template_version,
)
from confide.messaging.template_types import TEMPLATE_TYPES, TemplateKind
from confide.messaging.templating import placeholders, render, validate_template_text

SEEDED = importlib.import_module("confide.messaging.migrations.0003_default_templates").TEMPLATES
CONTACT = TemplateKind.CONTACT_NOTIFICATION
CONTACT_VALUES = dict(TEMPLATE_TYPES[CONTACT].sample)


def save(**overrides: str) -> MessageTemplate:
    values = {
        "kind": CONTACT,
        "channel": Channel.EMAIL,
        "language": Language.ENGLISH,
        "name": "Contact email",
        "subject": "You need to self-isolate",
        "body": "Dear ((first_name)), isolate until ((isolation_ends_on)). ((support_link))",
    }
    values.update(overrides)
    return save_template_version(by=None, **values)


# --- what a template may reference -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field", ["case_name", "nhs_number", "family_name", "case_specimen_date", "group_name"]
)
def test_a_contact_template_naming_a_field_outside_its_kind_is_refused_naming_the_field(field):
    with pytest.raises(ValidationError) as refused:
        save(body=f"Dear ((first_name)), you were near (({field})).")

    assert f"(({field}))" in " ".join(refused.value.message_dict["body"])
    assert not MessageTemplate.objects.filter(name="Contact email").exists()


@pytest.mark.django_db
def test_a_field_outside_the_kind_in_the_subject_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as refused:
        save(subject="About ((case_name))")

    assert "((case_name))" in " ".join(refused.value.message_dict["subject"])


@pytest.mark.django_db
def test_a_staff_broadcast_template_cannot_use_a_contacts_isolation_date():
    with pytest.raises(ValidationError) as refused:
        save(
            kind=TemplateKind.STAFF_BROADCAST,
            body="Hello ((first_name)), isolate until ((isolation_ends_on)).",
        )

    assert "((isolation_ends_on))" in " ".join(refused.value.message_dict["body"])


identifiers = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True)


@given(kind=st.sampled_from(list(TEMPLATE_TYPES)), name=identifiers)
def test_any_placeholder_a_kind_does_not_declare_is_refused(kind, name):
    template_type = TEMPLATE_TYPES[kind]
    body = f"Hello (( {name} ))."
    if name in template_type.fields:
        validate_template_text(kind=kind, subject="Subject", body=body)
        return
    with pytest.raises(ValidationError) as refused:
        validate_template_text(kind=kind, subject="Subject", body=body)
    assert f"(({name}))" in " ".join(refused.value.message_dict["body"])


def test_a_multi_line_subject_is_refused():
    with pytest.raises(ValidationError) as refused:
        validate_template_text(kind=CONTACT, subject="One\nTwo", body="Hello")

    assert "subject" in refused.value.message_dict


@pytest.mark.django_db
def test_an_email_template_without_a_subject_is_refused():
    with pytest.raises(ValidationError) as refused:
        save(subject="   ")

    assert "subject" in refused.value.message_dict


# --- rendering -------------------------------------------------------------------------------


def test_render_refuses_personalisation_with_a_field_the_kind_does_not_declare():
    with pytest.raises(ValueError, match="exactly"):
        render(
            kind=CONTACT,
            subject="s",
            body="((first_name))",
            values={**CONTACT_VALUES, "case_name": "Alex Smith"},
        )


def test_render_refuses_personalisation_missing_a_declared_field():
    values = dict(CONTACT_VALUES)
    del values["support_link"]

    with pytest.raises(ValueError, match="exactly"):
        render(kind=CONTACT, subject="s", body="((first_name))", values=values)


def test_render_fills_placeholders_once_without_expanding_placeholders_inside_values():
    values = {**CONTACT_VALUES, "first_name": "((support_link))"}

    rendered = render(
        kind=CONTACT, subject="Hi ((first_name))", body="((first_name))", values=values
    )

    assert rendered.body == "((support_link))"
    assert rendered.subject == "Hi ((support_link))"


def test_render_keeps_a_subject_on_one_line_whatever_the_values_hold():
    values = {**CONTACT_VALUES, "first_name": "Sam\r\nBcc: someone@example.org"}

    rendered = render(kind=CONTACT, subject="Hi ((first_name))", body="b", values=values)

    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject


# --- versions and languages ------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_a_template_where_version_one_exists_makes_version_two():
    # No follow-up reminder by email is seeded, so the first save is version 1.
    reminder = {"kind": TemplateKind.FOLLOW_UP_REMINDER, "subject": "How are you today?"}
    first = save(**reminder, body="((first_name)), check in: ((check_in_link))")

    second = save(**reminder, body="((first_name)), please check in: ((check_in_link))")

    assert (first.version, second.version) == (1, 2)


@pytest.mark.django_db
def test_a_new_version_of_a_seeded_template_is_version_two_and_version_one_stays():
    seeded = current_template(kind=CONTACT, channel=Channel.SMS)

    newer = save(channel=Channel.SMS, subject="", body="((first_name)): isolate. ((support_link))")

    assert (seeded.version, newer.version) == (1, 2)
    assert MessageTemplate.objects.filter(pk=seeded.pk).exists()


@pytest.mark.django_db
def test_the_current_template_is_the_latest_version():
    save(channel=Channel.SMS, subject="", body="v2 ((first_name))")
    latest = save(channel=Channel.SMS, subject="", body="v3 ((first_name))")

    assert current_template(kind=CONTACT, channel=Channel.SMS) == latest


@pytest.mark.django_db
def test_welsh_falls_back_to_english_when_a_kind_has_no_welsh_template():
    english = current_template(kind=TemplateKind.FOLLOW_UP_REMINDER, channel=Channel.SMS)

    chosen = current_template(
        kind=TemplateKind.FOLLOW_UP_REMINDER, channel=Channel.SMS, language=Language.WELSH
    )

    assert chosen == english
    assert chosen.language == Language.ENGLISH


@pytest.mark.django_db
def test_welsh_is_chosen_when_a_welsh_template_exists():
    chosen = current_template(kind=CONTACT, channel=Channel.EMAIL, language=Language.WELSH)

    assert chosen.language == Language.WELSH
    assert chosen.body.startswith("Annwyl")


@pytest.mark.django_db
def test_a_kind_and_channel_without_any_template_raises_no_template():
    with pytest.raises(NoTemplate):
        current_template(kind=TemplateKind.FOLLOW_UP_REMINDER, channel=Channel.EMAIL)


# --- the seeded defaults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "channel", "language", "name", "subject", "body"),
    SEEDED,
    ids=[f"{t[0]}-{t[1]}-{t[2]}" for t in SEEDED],
)
def test_every_seeded_template_passes_the_same_validation_as_a_supervisors(
    kind, channel, language, name, subject, body
):
    validate_template_text(kind=kind, subject=subject, body=body)
    if channel == Channel.EMAIL:
        assert subject.strip()


@pytest.mark.django_db
def test_every_seeded_template_is_in_the_database_as_version_one():
    stored = {
        (t.kind, t.channel, t.language): (t.version, t.subject, t.body)
        for t in MessageTemplate.objects.all()
    }

    for kind, channel, language, _name, subject, body in SEEDED:
        assert stored[(kind, channel, language)] == (1, subject, body)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(TEMPLATE_TYPES))
def test_preview_renders_every_seeded_template_with_the_kinds_sample_data(kind):
    templates = MessageTemplate.objects.filter(kind=kind)
    assert templates.exists()

    for template in templates:
        shown = preview(template)
        text = f"{shown.subject}\n{shown.body}"
        assert placeholders(text) == set()
        for name in placeholders(template.body):
            assert TEMPLATE_TYPES[kind].sample[name] in shown.body


@pytest.mark.django_db
def test_preview_uses_the_values_given_instead_of_the_sample():
    template = current_template(kind=CONTACT, channel=Channel.SMS)

    shown = preview(template, {**CONTACT_VALUES, "first_name": "Rhiannon"})

    assert shown.body.startswith("Rhiannon,")
