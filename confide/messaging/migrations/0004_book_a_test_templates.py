"""Default "book a test" templates, English and Welsh: sent to a contact in isolation who tells
their daily follow-up call that they have symptoms."""

from django.db import migrations, models

BOOK_A_TEST_EN = """Dear ((first_name)),

You told us today that you have symptoms of coronavirus (COVID-19).

Book a test straight away:
((test_booking_link))

Keep self-isolating while you wait for your test and your result.

The contact tracing service"""

BOOK_A_TEST_CY = """Annwyl ((first_name)),

Dywedoch wrthym heddiw fod gennych symptomau'r coronafeirws (COVID-19).

Trefnwch brawf ar unwaith:
((test_booking_link))

Parhewch i hunanynysu tra byddwch yn aros am eich prawf a'ch canlyniad.

Y gwasanaeth olrhain cysylltiadau"""

BOOK_A_TEST_SMS_EN = (
    "((first_name)), you told us you have coronavirus symptoms. Book a test now: "
    "((test_booking_link)) Keep self-isolating."
)
BOOK_A_TEST_SMS_CY = (
    "((first_name)), dywedoch fod gennych symptomau'r coronafeirws. Trefnwch brawf nawr: "
    "((test_booking_link)) Parhewch i hunanynysu."
)

TEMPLATES = [
    (
        "book_a_test",
        "email",
        "en",
        "Contact: book a test (email)",
        "Contact tracing: book a coronavirus test",
        BOOK_A_TEST_EN,
    ),
    (
        "book_a_test",
        "email",
        "cy",
        "Cyswllt: trefnu prawf (e-bost)",
        "Olrhain cysylltiadau: trefnwch brawf coronafeirws",
        BOOK_A_TEST_CY,
    ),
    ("book_a_test", "sms", "en", "Contact: book a test (text)", "", BOOK_A_TEST_SMS_EN),
    ("book_a_test", "sms", "cy", "Cyswllt: trefnu prawf (neges destun)", "", BOOK_A_TEST_SMS_CY),
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
    dependencies = [("messaging", "0003_default_templates")]
    operations = [
        migrations.AlterField(
            model_name="messagetemplate",
            name="kind",
            field=models.CharField(
                choices=[
                    ("contact_notification", "Contact: told to self-isolate"),
                    ("case_self_service", "Case: link to give contacts online"),
                    ("follow_up_reminder", "Daily check-in reminder"),
                    ("book_a_test", "Contact with symptoms: book a test"),
                    ("staff_broadcast", "Staff: message to a group, sent one by one"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
