"""A tracer stops a person's online self-service link from the item they hold."""

from __future__ import annotations

import pytest

from confide.messaging.models import Message
from confide.privacy.models import AccessEvent
from confide.public.links import LinkUnusable, offer_self_service, usable_link
from confide.public.tests.journey import message_body, token_in
from confide.workqueue.services import claim_next

pytestmark = pytest.mark.django_db


def test_a_tracer_stops_the_case_link_and_it_no_longer_opens(
    clinician, clinician_client, case, interview
):
    item = claim_next(tracer=clinician)
    assert item is not None
    (message,) = offer_self_service(cases=[case])
    message = Message.objects.select_related("template", "data_key").get(pk=message.pk)
    token = token_in(message_body(message))
    usable_link(token)  # opens before

    page = clinician_client.get(f"/work/items/{item.pk}/").content.decode()
    assert "Stop their online link working" in page
    response = clinician_client.post(f"/work/items/{item.pk}/self-service/revoke/")

    assert response.status_code == 302
    with pytest.raises(LinkUnusable):
        usable_link(token)
    assert AccessEvent.objects.filter(purpose="revoked self-service links").count() == 1
    again = clinician_client.post(f"/work/items/{item.pk}/self-service/revoke/", follow=True)
    assert "There was no online link to stop" in again.content.decode()
