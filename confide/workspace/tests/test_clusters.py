"""Clusters (confide/tracing/clusters.py): two or more cases at one setting while infectious,
within 14 days, go to local health protection (tier 1)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from confide.cases.models import Case
from confide.cases.tests.factories import CaseFactory
from confide.staff.models import Tier
from confide.tracing.clusters import cluster_case_ids, flag_cluster_at, flag_clusters
from confide.tracing.models import Setting, SettingKind, SettingVisit
from confide.tracing.services import create_setting
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import enqueue_setting_review

pytestmark = pytest.mark.django_db

TODAY = date(2021, 3, 20)


def case_tested(days_ago: int) -> Case:
    """Asymptomatic, December 2020 policy: infectious 2 days before to 10 days after the test."""
    specimen = TODAY - timedelta(days=days_ago)
    return CaseFactory.create(specimen_date=specimen, today=specimen + timedelta(days=1))


def visit(case: Case, setting: Setting, day: date) -> SettingVisit:
    # Written directly, as the demo and imports do, so a visit outside the period can be tried.
    return SettingVisit.objects.create(case=case, setting=setting, visited_on=day)


@pytest.fixture
def school() -> Setting:
    return create_setting(kind=SettingKind.SCHOOL, name="Ashgrove Academy", postcode="M1 1AE")


def reviews() -> list[WorkItem]:
    return list(WorkItem.objects.filter(kind=WorkKind.SETTING_REVIEW).order_by("pk"))


def test_two_cases_at_one_school_while_infectious_are_a_cluster_for_tier_one(school):
    first, second = case_tested(5), case_tested(3)
    visit(first, school, TODAY - timedelta(days=5))
    visit(second, school, TODAY - timedelta(days=2))

    flagged = flag_clusters(setting=school, around=TODAY - timedelta(days=2))

    assert [item.reason for item in flagged] == ["cluster: 2 cases"]
    assert flagged[0].tier == Tier.LOCAL_HEALTH_PROTECTION
    assert flagged[0].setting == school


def test_one_case_visiting_twice_is_not_a_cluster(school):
    case = case_tested(3)
    visit(case, school, TODAY - timedelta(days=4))
    visit(case, school, TODAY - timedelta(days=3))

    assert flag_clusters(setting=school, around=TODAY - timedelta(days=3)) == []
    assert reviews() == []


def test_a_visit_outside_the_cases_infectious_period_does_not_count(school):
    first, second = case_tested(3), case_tested(3)
    visit(first, school, TODAY - timedelta(days=3))
    visit(second, school, second.infectious_from - timedelta(days=1))

    assert cluster_case_ids(setting=school, around=TODAY - timedelta(days=3)) == {first.pk}
    assert flag_clusters(setting=school, around=TODAY) == []


def test_cases_more_than_fourteen_days_apart_are_not_a_cluster(school):
    early, late = case_tested(20), case_tested(3)
    visit(early, school, early.infectious_from)  # 22 days ago
    visit(late, school, TODAY - timedelta(days=3))

    assert flag_cluster_at(setting=school, around=TODAY - timedelta(days=3)) is None


def test_cases_fourteen_days_apart_inclusive_are_a_cluster(school):
    early, late = case_tested(14), case_tested(1)
    visit(early, school, TODAY - timedelta(days=14))
    visit(late, school, TODAY - timedelta(days=1))

    assert cluster_case_ids(setting=school, around=TODAY - timedelta(days=1)) == {
        early.pk,
        late.pk,
    }


def test_a_household_with_two_cases_is_not_a_cluster():
    home = create_setting(kind=SettingKind.HOUSEHOLD, address="1 Road", postcode="M1 1AE")
    first, second = case_tested(3), case_tested(2)
    visit(first, home, TODAY - timedelta(days=3))
    visit(second, home, TODAY - timedelta(days=2))

    assert flag_clusters(setting=home, around=TODAY) == []


def test_the_same_cluster_is_flagged_once_and_again_when_another_case_joins(school):
    first, second, third = case_tested(4), case_tested(3), case_tested(2)
    visit(first, school, TODAY - timedelta(days=4))
    visit(second, school, TODAY - timedelta(days=3))
    item = flag_cluster_at(setting=school, around=TODAY)
    assert item is not None
    WorkItem.objects.filter(pk=item.pk).update(state=WorkState.DONE)

    assert flag_cluster_at(setting=school, around=TODAY) is None

    visit(third, school, TODAY - timedelta(days=2))
    again = flag_cluster_at(setting=school, around=TODAY)
    assert again is not None
    assert again.reason == "cluster: 3 cases"
    assert len(reviews()) == 2


def test_an_open_review_of_the_setting_takes_the_cluster_reason(school):
    open_review = enqueue_setting_review(setting=school, reason="School visited by a case")
    first, second = case_tested(3), case_tested(2)
    visit(first, school, TODAY - timedelta(days=3))
    visit(second, school, TODAY - timedelta(days=2))

    item = flag_cluster_at(setting=school, around=TODAY)

    assert item is not None
    assert item.pk == open_review.pk
    assert reviews()[0].reason == "cluster: 2 cases"


def test_the_sweep_flags_every_recently_visited_setting_with_a_cluster(school):
    venue = create_setting(kind=SettingKind.VENUE, name="The Lamb", postcode="W1A 0AX")
    quiet = create_setting(kind=SettingKind.WORKPLACE, name="Mill Lane Depot", postcode="M1 1AE")
    cases = [case_tested(3) for _ in range(5)]
    for case in cases[:2]:
        visit(case, school, TODAY - timedelta(days=2))
    for case in cases[2:4]:
        visit(case, venue, TODAY - timedelta(days=1))
    visit(cases[4], quiet, TODAY - timedelta(days=1))

    flagged = flag_clusters(around=TODAY)

    assert {item.setting_id for item in flagged} == {school.pk, venue.pk}
    assert flag_clusters(around=TODAY) == []  # a second sweep raises nothing new
