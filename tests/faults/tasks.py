"""A task for the worker-kill test: it records each run in a file, and its first run hangs
(as a long retention sweep would) so the test can kill the worker while it is RUNNING."""

from __future__ import annotations

import time
from pathlib import Path

from django_tasks import task


@task()
def record_run(journal: str) -> int:
    path = Path(journal)
    with path.open("a") as runs:
        runs.write("run\n")
    count = len(path.read_text().splitlines())
    if count == 1:
        time.sleep(600)
    return count
