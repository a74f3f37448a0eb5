"""Reading rows as the database holds them, to prove what is (not) stored in clear."""

from __future__ import annotations

from typing import Any

from django.db import connection, models


def raw_row_bytes(model: type[models.Model], pk: Any) -> bytes:
    """Every column of one row, straight from the database cursor, joined into one blob."""
    table = connection.ops.quote_name(model._meta.db_table)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        # Identifiers come from model metadata, never from input.
        cursor.execute(f"SELECT * FROM {table} WHERE {pk_column} = %s", [pk])
        row = cursor.fetchone()
    assert row is not None, f"no {model.__name__} row with pk {pk}"
    parts = [
        bytes(value) if isinstance(value, bytes | bytearray | memoryview) else str(value).encode()
        for value in row
        if value is not None
    ]
    return b"\x00".join(parts)
