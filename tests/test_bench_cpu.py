"""bench/cpu.py: where a benchmark's CPU went, by kind of process."""

from __future__ import annotations

import time

import pytest

from bench.cpu import GROUPS, CpuSampler, _other_database

pytestmark = pytest.mark.db_independent


def test_a_backend_of_another_database_is_told_apart_from_ours_and_from_background_work():
    ours = "postgres: 15/main: postgres confide_bench 127.0.0.1(58814) SELECT"
    theirs = "postgres: 15/main: postgres confide_other 127.0.0.1(58815) idle"
    background = "postgres: 15/main: walwriter"

    assert not _other_database(ours, "confide_bench")
    assert _other_database(theirs, "confide_bench")
    assert not _other_database(background, "confide_bench")


def test_the_cpu_this_process_burns_is_counted_in_its_group_for_that_window():
    with CpuSampler(interval=0.05) as sampler:
        started = time.time()
        burnt = time.process_time()
        while time.process_time() - burnt < 0.3:
            sum(range(1_000))
        finished = time.time()
        time.sleep(0.2)  # a sample after the window

    used = sampler.between(started, finished)

    assert set(used) == {*GROUPS, "wall"}
    assert used["everything else"] >= 0.2  # this test's process is neither app nor database
    assert all(used[group] >= 0 for group in GROUPS)
