"""Local health protection (tier 1) review a setting: references and dates only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from confide.cases.models import Case
from confide.people.selectors import person_details
from confide.staff.models import Role
from confide.tracing.models import SettingKind
from confide.tracing.services import record_setting_visit
from confide.workqueue.models import WorkKind, WorkState
from confide.workqueue.services import claim_next
from confide.workspace.tests.conftest import StaffMaker, sign_in

pytestmark = pytest.mark.django_db


def test_a_tier_one_officer_sees_the_setting_and_case_references_but_no_personal_data(
    case: Case, make_staff: StaffMaker, today: date
):
    visit_day = today - timedelta(days=1)
    record_setting_visit(
        case=case,
        kind=SettingKind.PRISON,
        name="HMP Eastfield",
        postcode="B33 8TH",
        visited_on=visit_day,
    )
    officer = make_staff(Role.HEALTH_PROTECTION)
    item = claim_next(tracer=officer)
    assert item is not None
    assert item.kind == WorkKind.SETTING_REVIEW
    client = sign_in(Client(), officer)

    html = client.get(f"/work/items/{item.pk}/").content.decode()

    assert "HMP Eastfield" in html
    assert "Prison" in html
    assert str(case.reference) in html
    assert f"{visit_day:%-d %B %Y}" in html
    details = person_details(case.person)
    assert details.given_name not in html
    assert details.family_name not in html

    client.post(f"/work/items/{item.pk}/complete/")
    item.refresh_from_db()
    assert item.state == WorkState.DONE
