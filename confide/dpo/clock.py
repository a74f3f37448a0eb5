"""The 72-hour clock (UK GDPR Art. 33(1)): report to the ICO "without undue delay and, where
feasible, not later than 72 hours after having become aware" of a breach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

REPORTING_WINDOW = timedelta(hours=72)


def reporting_deadline(became_aware_at: datetime) -> datetime:
    """72 elapsed hours after awareness. Done in UTC: adding hours to a Europe/London time would
    add wall-clock hours, giving 71 or 73 real hours across a clock change."""
    if became_aware_at.tzinfo is None:
        raise ValueError("became_aware_at must be timezone-aware")
    return became_aware_at.astimezone(UTC) + REPORTING_WINDOW


@dataclass(frozen=True)
class TimeLeft:
    deadline: datetime
    remaining: timedelta  # negative once overdue

    @property
    def overdue(self) -> bool:
        return self.remaining < timedelta(0)

    def in_words(self) -> str:
        """ "2 days 3 hours left", "45 minutes left", "overdue by 5 hours" (rounded down)."""
        span = abs(self.remaining)
        days, rest = divmod(int(span.total_seconds()), 86_400)
        hours, rest = divmod(rest, 3_600)
        minutes = rest // 60
        parts = []
        if days:
            parts.append(f"{days} day{'s' if days != 1 else ''}")
        if hours:
            parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
        if not days and (minutes or not hours):
            parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
        amount = " ".join(parts)
        return f"overdue by {amount}" if self.overdue else f"{amount} left"


def time_left(*, became_aware_at: datetime, now: datetime) -> TimeLeft:
    deadline = reporting_deadline(became_aware_at)
    return TimeLeft(deadline=deadline, remaining=deadline - now.astimezone(UTC))
