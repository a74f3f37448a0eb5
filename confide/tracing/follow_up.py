"""Daily follow-up of contacts in isolation: the day's calls, check-ins and what they lead to.

The worker's ticker runs `open_follow_ups` every hour (it is idempotent, so it does not matter
which worker sees the new day first): checks left unanswered on an earlier day become missed,
and today's checks become items in the call handlers' (tier 3) queue, claimed like any other
work. A call handler records how the contact is with `record_check_in`:

- symptoms: the contact is told to book a test (their own message, naming nobody else) and a
  clinician (tier 2) is asked to call them;
- needs support: a call handler is asked to refer them to local support;
- could not be reached, or two checks missed in a row: a call handler is asked to phone them.

Follow-ups of cases (`FollowUp.case`) are not scheduled yet: only contacts' are opened here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from confide.messaging.models import Channel, Message
from confide.messaging.services import Addressee, NoTemplate, current_template, queue_message
from confide.messaging.template_types import TemplateKind
from confide.people.selectors import active_safeguarding, read_person
from confide.people.validation import check_event_date
from confide.staff.models import StaffMember, Tier
from confide.tracing import daily_sweep
from confide.tracing.models import Exposure, FollowUp, FollowUpOutcome, FollowUpStatus
from confide.tracing.notifications import written_channel
from confide.workqueue.models import WorkItem, WorkKind, WorkState
from confide.workqueue.services import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    enqueue_contact_call,
    enqueue_contact_work,
)

logger = logging.getLogger(__name__)

# England's 2020 service sent people with symptoms to the national booking site.
TEST_BOOKING_LINK = "https://www.gov.uk/get-coronavirus-test"
# After first calls to contacts (PRIORITY_NORMAL): telling someone to isolate comes first.
PRIORITY_FOLLOW_UP = PRIORITY_NORMAL + 10
MISSED_IN_A_ROW_TO_CHASE = 2
OPEN_STATES = (WorkState.WAITING, WorkState.CLAIMED)


class FollowUpClosed(Exception):
    """The check was already recorded, or its day has passed (it was marked missed)."""


@dataclass(frozen=True)
class FollowUpSweep:
    missed: int
    opened: int
    chased: int  # contacts who missed two checks in a row, now in the call handlers' queue


def _chase_if_missed_in_a_row(exposure: Exposure, *, up_to: date) -> WorkItem | None:
    """A call for a contact whose latest checks, up to `up_to`, were all missed."""
    latest = list(
        FollowUp.objects.filter(exposure=exposure, due_on__lte=up_to)
        .order_by("-due_on")
        .values_list("status", flat=True)[:MISSED_IN_A_ROW_TO_CHASE]
    )
    if len(latest) == MISSED_IN_A_ROW_TO_CHASE and all(
        status == FollowUpStatus.MISSED for status in latest
    ):
        return enqueue_contact_call(
            exposure=exposure, reason="missed two daily follow-ups in a row: phone them"
        )
    return None


def open_follow_ups(*, today: date | None = None, now: datetime | None = None) -> FollowUpSweep:
    """Mark earlier days' unanswered checks missed (chasing anyone who has missed two in a
    row), and put today's checks in the call handlers' queue. Safe to run again and at once
    from several workers: each step is a conditional update or a conflict-ignoring insert.
    Set-based (confide/tracing/daily_sweep.py): a few statements, flat memory, whatever the
    number of contacts in isolation."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    with transaction.atomic():
        chased = daily_sweep.chase_missed_in_a_row(
            today=today, yesterday=today - timedelta(days=1), now=now
        )
        missed = daily_sweep.mark_overdue_missed(today=today, now=now)
    opened = daily_sweep.open_todays_checks(today=today, now=now, priority=PRIORITY_FOLLOW_UP)
    return FollowUpSweep(missed=missed, opened=opened, chased=chased)


def tell_contact_to_book_a_test(*, exposure: Exposure) -> Message | None:
    """Queue the contact's own "book a test" message by email or text. None when we have no
    such channel (or safeguarding forbids it) or no template: the clinician's call tells them
    instead. Not by letter: it would arrive after the days a test is useful."""
    contact = exposure.contact
    details = read_person(contact, by=None, purpose="tell a contact with symptoms to book a test")
    route = written_channel(details, active_safeguarding(contact))
    if route is None or route[0] == Channel.LETTER:
        return None
    channel, recipient = route
    try:
        template = current_template(
            kind=TemplateKind.BOOK_A_TEST, channel=channel, language=contact.preferred_language
        )
    except NoTemplate:
        # The check-in still counts and the clinician's call still goes out; say what to fix.
        logger.warning("No %s template for book_a_test: add one on the templates page", channel)
        return None
    return queue_message(
        template=template,
        to=Addressee.for_person(contact),
        recipient=recipient,
        personalisation={"first_name": details.given_name, "test_booking_link": TEST_BOOKING_LINK},
    )


@dataclass(frozen=True)
class CheckIn:
    follow_up: FollowUp
    test_message: Message | None = None
    raised: list[WorkItem] = field(default_factory=list)


def _validate_check_in(outcome: str, symptom_onset: date | None, today: date) -> None:
    errors: dict[str, list[str]] = {}
    if outcome not in FollowUpOutcome.values:
        errors["outcome"] = ["Choose how they are today"]
    elif outcome == FollowUpOutcome.SYMPTOMS:
        if symptom_onset is None:
            errors["symptom_onset"] = ["Enter the date their symptoms started"]
        else:
            try:
                check_event_date(symptom_onset, today=today, what="date their symptoms started")
            except ValidationError as exc:
                errors["symptom_onset"] = exc.messages
    if errors:
        raise ValidationError(errors)


def record_check_in(
    *,
    item: WorkItem,
    outcome: str,
    by: StaffMember,
    symptom_onset: date | None = None,
    today: date | None = None,
) -> CheckIn:
    """Record today's check on a contact, finish its work item and raise what follows from it
    (see the module docstring), all in one transaction."""
    today = today or timezone.localdate()
    _validate_check_in(outcome, symptom_onset, today)
    now = timezone.now()
    with transaction.atomic():
        item = (
            WorkItem.objects.select_for_update(of=("self",))
            .select_related("exposure__contact__data_key")
            .get(pk=item.pk)
        )
        if item.state != WorkState.CLAIMED or item.claimed_by_id != by.pk:
            raise PermissionDenied("Only the call handler holding this follow-up can record it.")
        if item.kind != WorkKind.FOLLOW_UP or item.follow_up_id is None:
            raise FollowUpClosed("This work item is not a daily follow-up.")
        follow_up = FollowUp.objects.select_for_update().get(pk=item.follow_up_id)
        if follow_up.status != FollowUpStatus.DUE:
            raise FollowUpClosed("This follow-up has already been recorded or has passed.")
        reached = outcome != FollowUpOutcome.UNREACHABLE
        follow_up.status = FollowUpStatus.DONE if reached else FollowUpStatus.MISSED
        follow_up.outcome = outcome
        follow_up.completed_at = now
        follow_up.completed_by = by
        follow_up.save(update_fields=["status", "outcome", "completed_at", "completed_by"])
        item.state = WorkState.DONE
        item.attempts += 1
        item.completed_at = now
        item.save(update_fields=["state", "attempts", "completed_at"])
        exposure = item.exposure
        assert exposure is not None
        check_in = _what_follows(exposure, follow_up, outcome, symptom_onset)
    return check_in


def _what_follows(
    exposure: Exposure, follow_up: FollowUp, outcome: str, symptom_onset: date | None
) -> CheckIn:
    """What a check-in raises, whoever recorded it (a call handler, or the contact online)."""
    check_in = CheckIn(follow_up=follow_up)
    if outcome == FollowUpOutcome.SYMPTOMS:
        assert symptom_onset is not None
        check_in = CheckIn(
            follow_up=follow_up,
            test_message=tell_contact_to_book_a_test(exposure=exposure),
            raised=[
                enqueue_contact_work(
                    exposure=exposure,
                    kind=WorkKind.CONTACT_SYMPTOMS,
                    tier=Tier.CLINICAL,
                    priority=PRIORITY_URGENT,
                    reason=f"contact has symptoms since {symptom_onset:%-d %B %Y}",
                )
            ],
        )
    elif outcome == FollowUpOutcome.NEEDS_SUPPORT:
        check_in = CheckIn(
            follow_up=follow_up,
            raised=[
                enqueue_contact_work(
                    exposure=exposure,
                    kind=WorkKind.SUPPORT_REFERRAL,
                    tier=Tier.CALL_HANDLING,
                    reason="needs support while self-isolating: refer to local support",
                )
            ],
        )
    elif outcome == FollowUpOutcome.UNREACHABLE:
        chase = _chase_if_missed_in_a_row(exposure, up_to=follow_up.due_on)
        check_in = CheckIn(follow_up=follow_up, raised=[chase] if chase else [])
    return check_in


def record_self_check_in(
    *,
    exposure: Exposure,
    outcome: str,
    symptom_onset: date | None = None,
    today: date | None = None,
) -> CheckIn:
    """The contact's own check-in from their page: today's follow-up is recorded (made, if
    today has none, e.g. the day they were told), its call leaves the queue, and it raises
    exactly what a call handler's record would."""
    today = today or timezone.localdate()
    if outcome == FollowUpOutcome.UNREACHABLE:
        raise ValidationError({"outcome": ["Choose how you are today"]})
    _validate_check_in(outcome, symptom_onset, today)
    now = timezone.now()
    with transaction.atomic():
        FollowUp.objects.get_or_create(
            exposure=exposure, due_on=today, defaults={"person_id": exposure.contact_id}
        )
        follow_up = FollowUp.objects.select_for_update().get(exposure=exposure, due_on=today)
        if follow_up.status != FollowUpStatus.DUE:
            raise FollowUpClosed("Today's check-in has already been recorded.")
        follow_up.status = FollowUpStatus.DONE
        follow_up.outcome = outcome
        follow_up.completed_at = now
        follow_up.save(update_fields=["status", "outcome", "completed_at"])
        WorkItem.objects.filter(
            kind=WorkKind.FOLLOW_UP, follow_up=follow_up, state__in=OPEN_STATES
        ).update(state=WorkState.CANCELLED, completed_at=now)
        return _what_follows(exposure, follow_up, outcome, symptom_onset)
