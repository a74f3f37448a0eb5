"""CPU time per kind of process while a benchmark runs: app servers, task workers, PostgreSQL,
the load generator, everything else. Read from the kernel (psutil) once a second, so a
report can say where each request's CPU went, not only how long it took."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field

import psutil

GROUPS = ("app servers", "task workers", "PostgreSQL", "load generator", "everything else")


def _other_database(command: str, database: str) -> bool:
    """A PostgreSQL backend's title reads "postgres: 15/main: USER DATABASE HOST(PORT) STATE";
    background processes (checkpointer, WAL writer) have no database and are counted."""
    words = command.split()
    hosts = [i for i, word in enumerate(words) if "(" in word and word.endswith(")")]
    return bool(database and hosts and hosts[0] >= 1 and words[hosts[0] - 1] != database)


def group_of(process: psutil.Process, database: str = "") -> str:
    try:
        name = process.name()
        command = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return "everything else"
    if name.startswith("postgres") or command.startswith("postgres"):
        return "everything else" if _other_database(command, database) else "PostgreSQL"
    if "gunicorn" in command:
        return "app servers"
    if "confide" in command and " worker" in command:
        return "task workers"
    if "load_locust" in command:
        return "load generator"
    return "everything else"


@dataclass
class CpuSampler:
    """Samples every process's CPU seconds in a thread; `between(t0, t1)` gives each group's
    CPU seconds used in that window (by the samples nearest to it)."""

    database: str = ""  # PostgreSQL backends of other databases count as everything else
    interval: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    # pid and start time -> (group, CPU seconds when first seen): a process that started in the
    # window counts from zero, one that ended keeps its last reading.
    _last: dict[tuple[int, float], tuple[str, float]] = field(default_factory=dict)

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        for process in psutil.process_iter():
            try:
                key = (process.pid, process.create_time())
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            group = self._last[key][0] if key in self._last else group_of(process, self.database)
            self._last[key] = (group, times.user + times.system)
        totals: dict[str, float] = dict.fromkeys(GROUPS, 0.0)
        for group, seconds in self._last.values():
            totals[group] += seconds
        self.samples.append((time.time(), totals))

    def between(self, started: float, finished: float) -> dict[str, float]:
        """CPU seconds per group from the sample nearest `started` to the one nearest
        `finished`, with the seconds those samples actually span under "wall"."""
        if len(self.samples) < 2:
            return {}
        times = [t for t, _ in self.samples]

        def nearest(moment: float) -> int:
            i = bisect_left(times, moment)
            candidates = [j for j in (i - 1, i) if 0 <= j < len(times)]
            return min(candidates, key=lambda j: abs(times[j] - moment))

        first, last = nearest(started), nearest(finished)
        if last <= first:
            return {}
        used = {g: self.samples[last][1][g] - self.samples[first][1][g] for g in GROUPS}
        return {**used, "wall": times[last] - times[first]}
