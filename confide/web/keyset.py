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
its filter as ORs of column comparisons, which PostgreSQL cannot use to start an index scan at
the cursor; here the cursor is a row comparison, `(a, b) > (x, y)` (see `_after`).

A list filtered to one value of a column (the API's cases of one status) names it in `within`:
the page then walks the index that starts with that column (see `keyset_page`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from django.db.models import F, Model, Q, QuerySet
from django.db.models.fields.tuple_lookups import (  # type: ignore[import-untyped]
    Tuple,
    TupleGreaterThan,
    TupleLessThan,
)

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
    """Rows strictly after `values` in the list's order. With several columns, a row value
    comparison, (a, b) > (x, y): PostgreSQL makes it the start of the range scan of an index
    on (a, b), where the same condition spelled with ORs would be a filter over every row
    before the cursor. (Django spells it with ORs on databases without row values.)"""
    if len(names) == 1:
        return Q(**{f"{names[0]}__{'lt' if descending else 'gt'}": values[0]})
    beyond = TupleLessThan if descending else TupleGreaterThan
    return Q(beyond(Tuple(*(F(name) for name in names)), tuple(values)))


def keyset_page(
    queryset: QuerySet[M],
    *,
    order: Sequence[str],
    size: int,
    after: str | None = None,
    within: Mapping[str, Any] | None = None,
) -> KeysetPage[M]:
    """One page of `queryset` in `order`, starting after the row `after` names.

    `within` keeps the list to one value of each named column, walked through an index that
    starts with those columns and continues with `order`. They are written as the bounds of
    a range (col >= v AND col <= v) and lead the ORDER BY: an equality would let PostgreSQL
    drop them from the ordering and walk the primary key instead, filtering, since it cannot
    know that the rows of one value all sit together at the end (every new case is among the
    newest ids), and that filter reads the whole table before the first page's rows."""
    names, descending = _names(order)
    fixed = dict(within or {})
    sign = "-" if descending else ""
    ordered = queryset.filter(
        **{f"{name}__gte": value for name, value in fixed.items()},
        **{f"{name}__lte": value for name, value in fixed.items()},
    ).order_by(*(f"{sign}{name}" for name in fixed), *order)
    if after:
        values = _decode(queryset.model, names, after)
        ordered = ordered.filter(_after([*fixed, *names], [*fixed.values(), *values], descending))
    rows = list(ordered[: size + 1])
    if len(rows) <= size:
        return KeysetPage(items=rows, next_cursor=None)
    last = rows[size - 1]
    return KeysetPage(
        items=rows[:size], next_cursor=_encode([_value(last, name) for name in names])
    )
