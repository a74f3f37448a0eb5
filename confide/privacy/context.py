"""Who is acting, for audit records written deep in services (set per request or per job)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confide.staff.models import StaffMember

_actor: ContextVar[StaffMember | None] = ContextVar("confide_actor", default=None)


def current_actor() -> StaffMember | None:
    return _actor.get()


@contextmanager
def acting_as(member: StaffMember | None) -> Iterator[None]:
    token = _actor.set(member)
    try:
        yield
    finally:
        _actor.reset(token)
