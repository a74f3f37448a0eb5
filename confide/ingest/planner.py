"""PostgreSQL's statistics of the tables an import grows, kept up to date as it grows them.

Matching's lookups join blocking keys and blind indexes to people and leave out merged and
erased people (`merged_into_id IS NULL AND erased_at IS NULL`). With no statistics, or with
statistics taken when a table was a tenth of its size, PostgreSQL guesses those conditions
select a handful of people, starts from them and walks every person: on the bench, matching
took 2-5 ms a result against 0.1 ms once the tables were analysed. Autovacuum analyses a
table after a fifth of it changed, but only on its next round (a minute apart), and it may be
switched off (it is on the machines these benchmarks run on). PostgreSQL's manual asks for
ANALYZE after loading much data ("Populating a Database"); an import does it itself, after a
committed batch, whenever what it wrote since the last time is a fifth of what the tables held
then: a few times an import, each a fraction of a second (ANALYZE reads a sample).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from confide.cases.models import Case, TestResult
from confide.matching.models import BlockingKey, PersonEncoding
from confide.people.models import Person
from confide.workqueue.models import WorkItem

GROWN_BY_IMPORTS = (Person, BlockingKey, PersonEncoding, TestResult, Case, WorkItem)
# Below this many rows written, no ANALYZE: any plan is fast on a small table.
AT_LEAST = 5_000
SHARE = 0.2


def _people_estimate() -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Person._meta.db_table]
        )
        row = cursor.fetchone()
    return max(float(row[0]) if row else 0.0, 0.0)  # -1 until first analysed


@dataclass
class GrowingTables:
    """Call `wrote(n)` after each committed batch with the rows it imported."""

    written_since: int = 0
    held_then: float | None = None
    analysed: int = 0

    def wrote(self, rows: int) -> None:
        if connection.vendor != "postgresql" or connection.in_atomic_block or rows <= 0:
            return
        if self.held_then is None:
            self.held_then = _people_estimate()
        self.written_since += rows
        if self.written_since < max(AT_LEAST, SHARE * self.held_then):
            return
        with connection.cursor() as cursor:
            for model in GROWN_BY_IMPORTS:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.held_then = _people_estimate()
        self.written_since = 0
        self.analysed += 1
