"""Public-health rules come from the Policy row in force, seeded with England's 2020 guidance."""

from __future__ import annotations

from datetime import date

import pytest

from confide.cases.policy import (
    NoPolicyInForce,
    contact_isolation_ends_on,
    infectious_period,
    policy_in_force,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("on", "version"),
    [
        (date(2020, 5, 28), 1),
        (date(2020, 7, 29), 1),
        (date(2020, 7, 30), 2),
        (date(2020, 8, 1), 2),
        (date(2020, 12, 13), 2),
        (date(2020, 12, 14), 3),
        (date(2026, 1, 1), 3),
    ],
)
def test_the_policy_in_force_is_the_latest_that_took_effect_on_or_before_the_date(on, version):
    assert policy_in_force(on).version == version


def test_no_policy_is_in_force_before_test_and_trace_launched():
    with pytest.raises(NoPolicyInForce, match="2020-05-27"):
        policy_in_force(date(2020, 5, 27))


def test_the_infectious_period_runs_from_two_days_before_to_ten_days_after_symptom_onset():
    period = infectious_period(
        policy=policy_in_force(date(2021, 1, 12)),
        specimen_date=date(2021, 1, 12),
        symptom_onset=date(2021, 1, 10),
    )

    assert (period.starts_on, period.ends_on) == (date(2021, 1, 8), date(2021, 1, 20))


def test_an_asymptomatic_infectious_period_is_counted_from_the_specimen_date():
    period = infectious_period(
        policy=policy_in_force(date(2021, 1, 12)),
        specimen_date=date(2021, 1, 12),
        symptom_onset=None,
    )

    assert (period.starts_on, period.ends_on) == (date(2021, 1, 10), date(2021, 1, 22))


def test_the_first_policy_counted_seven_infectious_days_after_onset():
    period = infectious_period(
        policy=policy_in_force(date(2020, 6, 10)),
        specimen_date=date(2020, 6, 10),
        symptom_onset=date(2020, 6, 8),
    )

    assert (period.starts_on, period.ends_on) == (date(2020, 6, 6), date(2020, 6, 15))


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2021, 1, 7), False),
        (date(2021, 1, 8), True),
        (date(2021, 1, 20), True),
        (date(2021, 1, 21), False),
    ],
)
def test_the_infectious_period_includes_both_its_first_and_last_day(day, inside):
    period = infectious_period(
        policy=policy_in_force(date(2021, 1, 12)),
        specimen_date=date(2021, 1, 12),
        symptom_onset=date(2021, 1, 10),
    )

    assert period.contains(day) is inside


def test_a_contact_isolates_until_ten_days_after_last_contact_under_the_december_2020_policy():
    policy = policy_in_force(date(2021, 1, 12))

    assert contact_isolation_ends_on(policy=policy, last_contact=date(2021, 1, 9)) == date(
        2021, 1, 19
    )


def test_a_contact_isolated_until_fourteen_days_after_last_contact_at_launch():
    policy = policy_in_force(date(2020, 6, 1))

    assert contact_isolation_ends_on(policy=policy, last_contact=date(2020, 6, 1)) == date(
        2020, 6, 15
    )
