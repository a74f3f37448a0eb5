from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from confide.dpo.breaches import close_breach, open_breach, update_breach
from confide.dpo.models import Breach, BreachStatus, DataCategory, Decision
from confide.dpo.selectors import open_breaches
from confide.staff.models import StaffMember

pytestmark = pytest.mark.django_db


def _breach(by: StaffMember, *, hours_ago: int = 1) -> Breach:
    return open_breach(
        summary="Spreadsheet of contacts emailed to the wrong team",
        became_aware_at=timezone.now() - timedelta(hours=hours_ago),
        by=by,
        data_categories=[DataCategory.IDENTITY, DataCategory.CONTACT],
        approximate_people=120,
        approximate_records=120,
    )


def test_a_recorded_breach_is_open_with_its_72_hour_deadline(dpo: StaffMember) -> None:
    breach = _breach(dpo, hours_ago=10)

    [row] = open_breaches(now=timezone.now())

    assert row.breach == breach
    assert row.clock.deadline == breach.became_aware_at + timedelta(hours=72)
    assert timedelta(hours=61) < row.clock.remaining <= timedelta(hours=62)


def test_every_change_records_who_made_it_and_the_before_and_after(dpo: StaffMember) -> None:
    breach = _breach(dpo)

    update_breach(
        breach=breach,
        by=dpo,
        approximate_people=150,
        report_to_ico=Decision.YES,
        report_to_ico_reason="Health data of many people: a risk to their rights",
    )

    change = breach.changes.last()
    assert change is not None
    assert change.by_reference == dpo.reference
    assert change.changes["approximate_people"] == [120, 150]
    assert change.changes["report_to_ico"] == ["undecided", "yes"]
    assert [c.description for c in breach.changes.all()] == ["Recorded", "Changed"]


def test_a_decision_without_a_reason_is_refused(dpo: StaffMember) -> None:
    breach = _breach(dpo)

    with pytest.raises(ValidationError) as refused:
        update_breach(breach=breach, by=dpo, tell_people=Decision.NO)

    assert "tell_people_reason" in refused.value.error_dict
    breach.refresh_from_db()
    assert breach.tell_people == Decision.UNDECIDED


def test_a_breach_cannot_be_closed_before_both_decisions(dpo: StaffMember) -> None:
    breach = _breach(dpo)

    with pytest.raises(ValidationError) as refused:
        close_breach(breach=breach, by=dpo)

    assert set(refused.value.error_dict) == {"report_to_ico", "tell_people"}


def test_a_decided_breach_closes_and_leaves_the_open_list(dpo: StaffMember) -> None:
    breach = _breach(dpo)
    update_breach(
        breach=breach,
        by=dpo,
        report_to_ico=Decision.NO,
        report_to_ico_reason="Unlikely to result in a risk: recalled unread",
        tell_people=Decision.NO,
        tell_people_reason="No high risk",
    )

    closed = close_breach(breach=breach, by=dpo)

    assert closed.status == BreachStatus.CLOSED
    assert open_breaches(now=timezone.now()) == []
    assert closed.changes.last().description == "Closed"  # type: ignore[union-attr]


def test_open_breaches_come_soonest_deadline_first_and_overdue_ones_are_marked(
    dpo: StaffMember,
) -> None:
    recent = _breach(dpo, hours_ago=2)
    overdue = _breach(dpo, hours_ago=80)
    middle = _breach(dpo, hours_ago=40)

    rows = open_breaches(now=timezone.now())

    assert [r.breach for r in rows] == [overdue, middle, recent]
    assert [r.overdue for r in rows] == [True, False, False]


def test_a_breach_reported_to_the_ico_is_no_longer_overdue(dpo: StaffMember) -> None:
    breach = _breach(dpo, hours_ago=80)
    update_breach(
        breach=breach,
        by=dpo,
        report_to_ico=Decision.YES,
        report_to_ico_reason="Risk to people",
        reported_to_ico_at=timezone.now() - timedelta(hours=10),
    )

    [row] = open_breaches(now=timezone.now())

    assert not row.overdue
    assert row.clock_stopped
