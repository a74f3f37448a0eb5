"""Inserting many rows of one model without building model instances (imports).

`Model.objects.bulk_create` makes an instance per row and prepares every field of every row
through the SQL compiler; for a results import that cost more than sealing the data. Here a
row is a mapping of attribute names (`person_id`, not `person`) to values, written with one
executemany (SQLite) or COPY (PostgreSQL) per call. A field a row leaves out is filled as
`bulk_create` would fill it: the pk from `allocate_ids`, `auto_now`/`auto_now_add` with the
time of the call, else the field's default (a callable default is called per row), so a column
added to a model later needs no change here. Model `save()` methods and signals do not run.

Database errors come out as Django's (an `IntegrityError` for a broken constraint), so callers
handle them as they would around `bulk_create`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

_Missing = object()


def allocate_ids(model: type[Model], count: int) -> list[int]:
    """`count` new primary keys for `model`, reserved for rows the caller inserts with them.

    Must run inside `transaction.atomic()`: on SQLite the transaction is IMMEDIATE (settings),
    so it holds the write lock and nobody else can take the same ids before it commits.
    """
    if count == 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), pk.column, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        assert connection.in_atomic_block, "allocate_ids needs the write lock of a transaction"
        quoted = connection.ops.quote_name(table)
        # AUTOINCREMENT never reuses an id, even of a deleted row: start above both.
        cursor.execute(
            f"SELECT MAX(COALESCE((SELECT MAX({connection.ops.quote_name(pk.column)}) "  # noqa: S608
            f"FROM {quoted}), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [table],
        )
        start = int(cursor.fetchone()[0]) + 1
    return list(range(start, start + count))


# Fields whose values (str, int, bytes, None) the drivers take as they are.
_PASSTHROUGH = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BinaryField",
        "CharField",
        "EmailField",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallAutoField",
        "SmallIntegerField",
        "TextField",
    }
)


def _storage_type(field: Field[Any, Any]) -> str:
    target = getattr(field, "target_field", None)
    return (
        _storage_type(target)
        if field.is_relation and target is not None
        else (field.get_internal_type())
    )


# Values converted once per distinct value rather than once per row: an import's rows share a
# few dates and times. (Equal values of these types convert alike.)
_BY_VALUE = frozenset({type(None), bool, datetime.date, datetime.datetime})


def _converter(field: Field[Any, Any]) -> Callable[[list[Any]], list[Any]] | None:
    """What turns a column of Python values of this field into the database's, or None when
    the driver takes them as they are. Dates and times are converted once per distinct value;
    UUIDs go as they are where the database has a uuid type, else as their hex (what
    `UUIDField` stores there), without a trip through the field per value."""
    storage = _storage_type(field)
    if storage in _PASSTHROUGH:
        return None

    def prepare(value: Any) -> Any:
        return None if value is None else field.get_db_prep_save(value, connection)

    if storage == "UUIDField":
        native = connection.features.has_native_uuid_field

        def convert_uuids(column: list[Any]) -> list[Any]:
            if set(map(type, column)) == {uuid.UUID}:
                return column if native else [value.hex for value in column]
            return [
                (value if native else value.hex) if type(value) is uuid.UUID else prepare(value)
                for value in column
            ]

        return convert_uuids

    def convert(column: list[Any]) -> list[Any]:
        if set(map(type, column)) <= _BY_VALUE:
            distinct = {value: prepare(value) for value in set(column)}
            return list(map(distinct.__getitem__, column))
        return list(map(prepare, column))

    return convert


def insert_rows(
    model: type[Model], rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool = False
) -> list[int]:
    """Insert `rows` (attribute name -> value) into `model`'s table; returns their primary
    keys in order (those given, else newly allocated). With `ignore_conflicts`, a row that
    breaks a unique constraint is skipped (ON CONFLICT DO NOTHING) rather than raising, and the
    returned keys of skipped rows name nothing."""
    if not rows:
        return []
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    now = timezone.now()
    auto_pk = pk.attname not in rows[0]
    ids = allocate_ids(model, len(rows)) if auto_pk else [row[pk.attname] for row in rows]
    pk_convert = None if auto_pk else _converter(pk)
    fields = [f for f in meta.concrete_fields if f is not pk]
    # Built column by column (a comprehension per column, not a loop per cell): for an
    # import's rows this was a tenth of the time of its inserts.
    count = len(rows)
    first = rows[0]
    uniform = all(row.keys() == first.keys() for row in rows)
    columns_values: list[list[Any]] = [pk_convert(list(ids)) if pk_convert else list(ids)]
    for field in fields:
        convert = _converter(field)
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            # As bulk_create's pre_save: the time of the insert, whatever the row says.
            columns_values.append([convert([now])[0] if convert else now] * count)
            continue
        attname = field.attname
        if uniform:  # every row names the same fields: take or fill the column whole
            if attname in first:
                column = list(map(itemgetter(attname), rows))
            elif field.has_default() and callable(field.default):
                column = [field.get_default() for _ in range(count)]
            else:
                column = [field.get_default()] * count
        else:
            column = [row.get(attname, _Missing) for row in rows]
            if any(value is _Missing for value in column):
                if field.has_default() and callable(field.default):
                    column = [field.get_default() if v is _Missing else v for v in column]
                else:
                    default = field.get_default()
                    column = [default if v is _Missing else v for v in column]
        columns_values.append(convert(column) if convert else column)
    values = list(zip(*columns_values, strict=True))
    columns = [pk.column, *(f.column for f in fields)]
    _write(meta.db_table, columns, values, ignore_conflicts=ignore_conflicts)
    return ids


def _write(
    table: str, columns: list[str], values: list[tuple[Any, ...]], *, ignore_conflicts: bool
) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql" and not ignore_conflicts:
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        cursor.executemany(
            f"INSERT INTO {quote(table)} ({names}) VALUES ({marks}){conflict}",  # noqa: S608
            values,
        )
