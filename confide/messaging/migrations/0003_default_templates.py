"""Default templates in English and Welsh; supervisors add new versions from the templates page."""

from django.db import migrations

CONTACT_EN = """Dear ((first_name)),

You have been in close contact with someone who has tested positive for coronavirus (COVID-19).

You must self-isolate until the end of ((isolation_ends_on)).

We cannot tell you who you were in contact with, and we will not tell anyone that we contacted you.

If you need help while you self-isolate, or want to apply for a support payment, go to:
((support_link))

If you get symptoms, book a test straight away.

The contact tracing service"""

CONTACT_CY = """Annwyl ((first_name)),

Rydych wedi bod mewn cysylltiad agos â rhywun sydd wedi cael prawf positif am y coronafeirws (COVID-19).

Rhaid i chi hunanynysu tan ddiwedd ((isolation_ends_on)).

Ni allwn ddweud wrthych gyda phwy y buoch mewn cysylltiad, ac ni fyddwn yn dweud wrth neb ein bod wedi cysylltu â chi.

Os oes angen help arnoch tra byddwch yn hunanynysu, neu os ydych am wneud cais am daliad cymorth, ewch i:
((support_link))

Os byddwch yn cael symptomau, trefnwch brawf ar unwaith.

Y gwasanaeth olrhain cysylltiadau"""

CONTACT_SMS_EN = (
    "((first_name)), you have been in close contact with someone who has coronavirus. "
    "Self-isolate until the end of ((isolation_ends_on)). Help and support: ((support_link))"
)
CONTACT_SMS_CY = (
    "((first_name)), rydych wedi bod mewn cysylltiad agos â rhywun sydd â'r coronafeirws. "
    "Hunanynyswch tan ddiwedd ((isolation_ends_on)). Help a chymorth: ((support_link))"
)

SELF_SERVICE_EN = """Dear ((first_name)),

Your coronavirus test result was positive. Please tell us who you have been in contact with, so we can advise them without telling them your name.

Use this link (it works once and expires at the end of ((link_expires_on))):
((self_service_link))

The contact tracing service"""

SELF_SERVICE_SMS_EN = (
    "((first_name)), your coronavirus test was positive. Tell us who you have been in contact "
    "with: ((self_service_link)) (expires end of ((link_expires_on)))"
)

REMINDER_SMS_EN = "((first_name)), please tell us how you are today: ((check_in_link))"

BROADCAST_EN = """Dear ((first_name)),

Welcome to ((group_name)). Your training starts on your first day; your supervisor will contact you with the details.

This message was sent to you alone.

The contact tracing service"""

TEMPLATES = [
    (
        "contact_notification",
        "email",
        "en",
        "Contact: self-isolate (email)",
        "Contact tracing: you need to self-isolate",
        CONTACT_EN,
    ),
    (
        "contact_notification",
        "email",
        "cy",
        "Cyswllt: hunanynysu (e-bost)",
        "Olrhain cysylltiadau: mae angen i chi hunanynysu",
        CONTACT_CY,
    ),
    ("contact_notification", "sms", "en", "Contact: self-isolate (text)", "", CONTACT_SMS_EN),
    ("contact_notification", "sms", "cy", "Cyswllt: hunanynysu (neges destun)", "", CONTACT_SMS_CY),
    (
        "contact_notification",
        "letter",
        "en",
        "Contact: self-isolate (letter)",
        "You need to self-isolate",
        CONTACT_EN,
    ),
    (
        "case_self_service",
        "email",
        "en",
        "Case: give your contacts online",
        "Contact tracing: tell us who you have been in contact with",
        SELF_SERVICE_EN,
    ),
    (
        "case_self_service",
        "sms",
        "en",
        "Case: give your contacts online (text)",
        "",
        SELF_SERVICE_SMS_EN,
    ),
    ("follow_up_reminder", "sms", "en", "Daily check-in (text)", "", REMINDER_SMS_EN),
    (
        "staff_broadcast",
        "email",
        "en",
        "Staff: welcome to a training cohort",
        "Welcome to the contact tracing service",
        BROADCAST_EN,
    ),
]


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for kind, channel, language, name, subject, body in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            kind=kind,
            channel=channel,
            language=language,
            version=1,
            defaults={"name": name, "subject": subject, "body": body},
        )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
