"""Default templates for the one-time security code (English and Welsh, email and text) and a
Welsh version of the case's self-service message; supervisors add new versions as usual."""

from django.db import migrations

CODE_EMAIL_EN = """Your security code is ((code))

Enter it on the contact tracing page to confirm it is you. It expires in 10 minutes.

If you did not ask for a code, you can ignore this message. Nobody from the contact tracing service will ever ask you for this code.

The contact tracing service"""

CODE_EMAIL_CY = """Eich cod diogelwch yw ((code))

Rhowch y cod ar dudalen olrhain cysylltiadau i gadarnhau mai chi sydd yno. Bydd yn dod i ben ymhen 10 munud.

Os na wnaethoch ofyn am god, gallwch anwybyddu'r neges hon. Fydd neb o'r gwasanaeth olrhain cysylltiadau byth yn gofyn i chi am y cod hwn.

Y gwasanaeth olrhain cysylltiadau"""

CODE_SMS_EN = (
    "Your contact tracing security code is ((code)). It expires in 10 minutes. "
    "Do not share it with anyone."
)
CODE_SMS_CY = (
    "Eich cod diogelwch olrhain cysylltiadau yw ((code)). Bydd yn dod i ben ymhen 10 munud. "
    "Peidiwch â'i rannu gydag unrhyw un."
)

SELF_SERVICE_CY = """Annwyl ((first_name)),

Roedd canlyniad eich prawf coronafeirws yn bositif. Dywedwch wrthym gyda phwy rydych wedi bod mewn cysylltiad, er mwyn i ni allu eu cynghori heb ddweud eich enw wrthynt.

Defnyddiwch y ddolen hon (mae'n dod i ben ar ddiwedd ((link_expires_on))):
((self_service_link))

Y gwasanaeth olrhain cysylltiadau"""

SELF_SERVICE_SMS_CY = (
    "((first_name)), roedd eich prawf coronafeirws yn bositif. Dywedwch wrthym gyda phwy "
    "rydych wedi bod mewn cysylltiad: ((self_service_link)) (yn dod i ben ddiwedd "
    "((link_expires_on)))"
)

TEMPLATES = [
    (
        "verification_code",
        "email",
        "en",
        "Security code (email)",
        "Your contact tracing security code",
        CODE_EMAIL_EN,
    ),
    (
        "verification_code",
        "email",
        "cy",
        "Cod diogelwch (e-bost)",
        "Eich cod diogelwch olrhain cysylltiadau",
        CODE_EMAIL_CY,
    ),
    ("verification_code", "sms", "en", "Security code (text)", "", CODE_SMS_EN),
    ("verification_code", "sms", "cy", "Cod diogelwch (neges destun)", "", CODE_SMS_CY),
    (
        "case_self_service",
        "email",
        "cy",
        "Achos: rhoi eich cysylltiadau ar-lein",
        "Olrhain cysylltiadau: dywedwch wrthym gyda phwy rydych wedi bod mewn cysylltiad",
        SELF_SERVICE_CY,
    ),
    (
        "case_self_service",
        "sms",
        "cy",
        "Achos: rhoi eich cysylltiadau ar-lein (neges destun)",
        "",
        SELF_SERVICE_SMS_CY,
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
    dependencies = [
        ("public", "0001_initial"),
        ("messaging", "0004_book_a_test_templates"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
