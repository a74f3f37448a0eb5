"""An import keeps PostgreSQL's statistics of the tables it grows up to date."""

from __future__ import annotations

import pytest
from django.db import connection

from confide.ingest.planner import AT_LEAST, GROWN_BY_IMPORTS, GrowingTables

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's planner statistics"
)


def analyses() -> dict[str, int]:
    tables = [model._meta.db_table for model in GROWN_BY_IMPORTS]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [tables],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_the_tables_are_analysed_once_enough_was_written_and_not_before():
    before = analyses()
    tables = GrowingTables()

    tables.wrote(AT_LEAST - 1)
    untouched = analyses()
    tables.wrote(1)
    after = analyses()

    assert untouched == before
    assert tables.analysed == 1
    assert all(after[table] == before[table] + 1 for table in before)
    assert len(before) == len(GROWN_BY_IMPORTS)


@pytest.mark.django_db
def test_nothing_is_analysed_inside_a_transaction():
    tables = GrowingTables()

    tables.wrote(10 * AT_LEAST)

    assert tables.analysed == 0
