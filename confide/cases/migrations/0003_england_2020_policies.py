"""Seed the guidance England's service worked under in 2020 as versioned Policy rows."""

from datetime import date

from django.db import migrations

POLICIES = [
    dict(
        version=1,
        name="NHS Test and Trace launch",
        effective_from=date(2020, 5, 28),
        source="DHSC/PHE guidance for contacts, 28 May 2020: contacts isolate 14 days; cases 7 days",
        infectious_days_before=2,
        infectious_days_after=7,
        contact_isolation_days=14,
        case_isolation_days=7,
        max_call_attempts=10,
        call_attempt_window_hours=72,
    ),
    dict(
        version=2,
        name="Case isolation extended to 10 days",
        effective_from=date(2020, 7, 30),
        source="UK Chief Medical Officers' statement, 30 July 2020: cases isolate 10 days",
        infectious_days_before=2,
        infectious_days_after=10,
        contact_isolation_days=14,
        case_isolation_days=10,
        max_call_attempts=10,
        call_attempt_window_hours=72,
    ),
    dict(
        version=3,
        name="Contact isolation reduced to 10 days",
        effective_from=date(2020, 12, 14),
        source="DHSC guidance, 14 December 2020: contacts isolate 10 days from last contact",
        infectious_days_before=2,
        infectious_days_after=10,
        contact_isolation_days=10,
        case_isolation_days=10,
        max_call_attempts=10,
        call_attempt_window_hours=72,
    ),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("cases", "Policy")
    for row in POLICIES:
        Policy.objects.update_or_create(version=row["version"], defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("cases", "Policy").objects.filter(version__in=[1, 2, 3]).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_initial")]
    operations = [migrations.RunPython(seed, unseed)]
