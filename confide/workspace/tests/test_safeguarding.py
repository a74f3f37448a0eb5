"""Tracers set and clear a person's safeguarding flags from the item they hold."""

from __future__ import annotations

import pytest

from confide.people.models import SafeguardingKind
from confide.people.selectors import active_safeguarding
from confide.workqueue.services import claim_next

pytestmark = pytest.mark.django_db


def test_a_tracer_sets_and_clears_flags_on_the_case_they_hold(
    clinician, clinician_client, case, interview
):
    item = claim_next(tracer=clinician)
    assert item is not None
    url = f"/work/items/{item.pk}/safeguarding/"

    saved = clinician_client.post(
        url, {"flags": [SafeguardingKind.PHONE_ONLY, SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS]}
    )

    assert saved.status_code == 302
    assert active_safeguarding(case.person) == {
        SafeguardingKind.PHONE_ONLY,
        SafeguardingKind.DO_NOT_DISCLOSE_ADDRESS,
    }
    page = clinician_client.get(f"/work/items/{item.pk}/").content.decode()
    assert "Safeguarding:" in page

    clinician_client.post(url, {"flags": [SafeguardingKind.PHONE_ONLY]})
    assert active_safeguarding(case.person) == {SafeguardingKind.PHONE_ONLY}


def test_an_unknown_flag_is_refused_and_nothing_changes(
    clinician, clinician_client, case, interview
):
    item = claim_next(tracer=clinician)
    assert item is not None

    response = clinician_client.post(
        f"/work/items/{item.pk}/safeguarding/", {"flags": ["tell_the_neighbours"]}
    )

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert active_safeguarding(case.person) == set()
