from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from confide.dpo.clock import reporting_deadline, time_left

LONDON = ZoneInfo("Europe/London")


def test_the_deadline_is_72_real_hours_across_the_autumn_clock_change() -> None:
    # Clocks went back at 2am on Sunday 25 October 2026: 72 hours later is 11am, not noon.
    aware = datetime(2026, 10, 24, 12, 0, tzinfo=LONDON)

    deadline = reporting_deadline(aware).astimezone(LONDON)

    assert (deadline.day, deadline.hour) == (27, 11)


def test_the_deadline_is_72_real_hours_across_the_spring_clock_change() -> None:
    aware = datetime(2026, 3, 28, 12, 0, tzinfo=LONDON)

    deadline = reporting_deadline(aware).astimezone(LONDON)

    assert (deadline.day, deadline.hour) == (31, 13)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(LONDON)
    )
)
def test_any_deadline_is_exactly_72_elapsed_hours_after_awareness(aware: datetime) -> None:
    assert reporting_deadline(aware) - aware == timedelta(hours=72)


def test_time_left_counts_down_and_goes_negative_once_overdue() -> None:
    aware = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    before = time_left(became_aware_at=aware, now=aware + timedelta(hours=70, minutes=15))
    after = time_left(became_aware_at=aware, now=aware + timedelta(hours=77))

    assert before.remaining == timedelta(hours=1, minutes=45)
    assert not before.overdue
    assert after.overdue


def test_time_left_in_words() -> None:
    aware = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def words(elapsed: timedelta) -> str:
        return time_left(became_aware_at=aware, now=aware + elapsed).in_words()

    assert words(timedelta(0)) == "3 days left"
    assert words(timedelta(hours=21)) == "2 days 3 hours left"
    assert words(timedelta(hours=71, minutes=15)) == "45 minutes left"
    assert words(timedelta(hours=70, minutes=59)) == "1 hour 1 minute left"
    assert words(timedelta(hours=77)) == "overdue by 5 hours"
    assert words(timedelta(hours=72)) == "0 minutes left"
