"""Keyset ("seek") pagination for list pages and API listings.

OFFSET pagination reads and throws away every row before the page, and a page count needs a
COUNT(*) of the whole list: both grow with the table, so at a national peak a deep page takes
seconds. A keyset page starts *after* the last row shown, found through the index that orders
the list, so every page costs the same whatever the table's size. There is no page count:
a page says only whether there is a next one.

The cursor is opaque to callers (URL-safe base64 of the last row's ordering values); a
tampered or stale cursor is `InvalidCursor`, never a server error. Rows are ordered by one or
more fields, all ascending or all descending, the last of which must be unique (the pk).
Written by hand rather than with django-cursor-pagination: that package is untyped and builds
its filter without the leading range condition that lets PostgreSQL start the index scan at
the cursor (see `_after`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

MAX_CURSOR_LENGTH = 400


class InvalidCursor(ValueError):
    """The cursor was not one this list gave out."""


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    items: list[M]
    next_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _names(order: Sequence[str]) -> tuple[list[str], bool]:
    descending = {name.startswith("-") for name in order}
    if len(descending) != 1:
        raise ValueError("keyset ordering must be all ascending or all descending")
    return [name.lstrip("-") for name in order], descending.pop()


def _value(instance: Model, name: str) -> Any:
    return instance.pk if name == "pk" else getattr(instance, name)


def _encode(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, date | datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(model: type[Model], names: list[str], cursor: str) -> list[Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor") from exc
    if not isinstance(plain, list) or len(plain) != len(names):
        raise InvalidCursor("not a cursor for this list")
    values = []
    for name, value in zip(names, plain, strict=True):
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        if value is None or isinstance(value, dict | list):
            raise InvalidCursor("not a cursor for this list")
        try:
            values.append(field.to_python(value))  # type: ignore[union-attr]
        except Exception as exc:
            raise InvalidCursor("not a cursor for this list") from exc
    return values


def _after(names: list[str], values: list[Any], descending: bool) -> Q:
    """Rows strictly after `values` in the list's order: (a, b) > (x, y) spelled as
    a >= x AND (a > x OR (a = x AND b > y)). The leading a >= x is implied by the rest but
    lets the planner start the index range scan at the cursor instead of filtering from the
    first row."""
    beyond = "lt" if descending else "gt"
    reach = "lte" if descending else "gte"
    alternatives = Q()
    for i, name in enumerate(names):
        equal = {n: v for n, v in zip(names[:i], values[:i], strict=True)}
        alternatives |= Q(**equal, **{f"{name}__{beyond}": values[i]})
    if len(names) == 1:
        return alternatives
    return Q(**{f"{names[0]}__{reach}": values[0]}) & alternatives


def keyset_page(
    queryset: QuerySet[M], *, order: Sequence[str], size: int, after: str | None = None
) -> KeysetPage[M]:
    """One page of `queryset` in `order`, starting after the row `after` names."""
    names, descending = _names(order)
    ordered = queryset.order_by(*order)
    if after:
        ordered = ordered.filter(_after(names, _decode(queryset.model, names, after), descending))
    rows = list(ordered[: size + 1])
    if len(rows) <= size:
        return KeysetPage(items=rows, next_cursor=None)
    last = rows[size - 1]
    return KeysetPage(
        items=rows[:size], next_cursor=_encode([_value(last, name) for name in names])
    )
