"""`confide demo`, the second command of `make run`: a demo with a past, so the public weekly
statistics have complete weeks to show on a fresh install."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from confide.cases.models import Case, CaseTransition
from confide.statistics.models import WeeklyPublication

pytestmark = pytest.mark.django_db


def test_the_demo_opens_cases_the_day_after_their_specimen_and_publishes_past_weeks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    call_command("demo", cases=60, seed=3)

    now = timezone.now()
    for case in Case.objects.all():
        next_morning = timezone.make_aware(
            datetime.combine(case.specimen_date + timedelta(days=1), time(9))
        )
        if next_morning < now:
            assert case.created_at == next_morning
        else:  # taken today: opened when the demo was loaded
            assert case.created_at <= now
        assert all(t.at >= case.created_at for t in CaseTransition.objects.filter(case=case))
    published = WeeklyPublication.objects.count()
    assert published >= 1
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert f"weekly statistics published for {published} past week" in printed
    page = Client().get("/statistics/").content.decode()
    assert "up to the week starting" in page
