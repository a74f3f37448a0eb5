"""Factories for cases, opened through the real service under the policy seeded for 2020."""

from __future__ import annotations

from datetime import date
from typing import Any

import factory

from confide.cases.models import Case
from confide.cases.services import open_case
from confide.people.tests.factories import PersonFactory


class CaseFactory(factory.Factory[Case]):
    """A new case: tested 10 January 2021 (policy v3), no symptoms, opened the next day."""

    class Meta:
        model = Case

    person = factory.SubFactory(PersonFactory)
    specimen_date = date(2021, 1, 10)
    symptom_onset = None
    today = date(2021, 1, 11)

    @classmethod
    def _create(cls, model_class: type[Case], *args: Any, **kwargs: Any) -> Case:
        return open_case(**kwargs)
