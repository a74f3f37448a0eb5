"""Issue 8, faults: PostgreSQL restarted (crashed, in fact) while staff and labs are writing.

A private cluster (tests/faults/support.py) is stopped with `pg_ctl -m immediate` — no
checkpoint, as in a crash — under `confide serve` with two client threads posting lab results
and one reading a page, then started again. Requests in flight must fail cleanly (a 5xx with
our own text, no traceback), the app must recover by itself (CONN_HEALTH_CHECKS), and every
result acknowledged with a 2xx must be in the database afterwards: lost must be zero.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.faults.support import (
    PrivatePostgres,
    Server,
    confide,
    confide_environment,
)

# db_independent: the cluster is this test's own, whichever database the suite runs on.
pytestmark = [pytest.mark.slow, pytest.mark.db_independent]

LAB = "FLT"
GIVEN_NAMES = ("Amara", "Bethan", "Callum", "Dewi", "Esther", "Farid", "Gwen", "Hamish")
SORRY = "Sorry, there is a problem with the service"


@dataclass(frozen=True)
class Outcome:
    what: str  # "result" (a POST to the API) or "page" (a GET of a page that reads the database)
    key: str
    status: int | None  # None: no HTTP answer at all
    body: str
    content_type: str
    at: float


@pytest.fixture(scope="module")
def cluster(test_key_ring: Path) -> Iterator[tuple[PrivatePostgres, dict[str, str]]]:
    root = Path(tempfile.mkdtemp(prefix="confide-serving-pg-"))
    postgres = PrivatePostgres(root / "cluster").create()
    data_dir = root / "data"
    data_dir.mkdir()
    env = confide_environment(database_url=postgres.url, key_ring=test_key_ring, data_dir=data_dir)
    try:
        confide("migrate", "--no-input", "-v", "0", env=env)
        yield postgres, env
    finally:
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)


def _lab_token(env: dict[str, str]) -> str:
    printed = confide(
        "api-token", "create", "--client", "Fault lab", "--scope", "results:submit",
        "--lab-code", LAB, env=env,
    )  # fmt: skip
    return next(line.strip() for line in printed.splitlines() if line.strip().startswith("cfd_"))


def _post_results(
    base: str, token: str, prefix: str, stop: threading.Event, outcomes: list[Outcome]
) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    n = 0
    while not stop.is_set():
        n += 1
        key = f"{prefix}-{n}"
        row = {
            "lab_result_id": key,
            "outcome": "positive",
            "specimen_date": date.today().isoformat(),
            "given_name": GIVEN_NAMES[n % len(GIVEN_NAMES)],
            "family_name": f"Faultline{prefix}",
            "date_of_birth": (date(1950, 1, 1) + timedelta(days=37 * n)).isoformat(),
        }
        try:
            response = session.post(f"{base}/api/results", json={"rows": [row]}, timeout=15)
            outcomes.append(
                Outcome("result", key, response.status_code, response.text,
                        response.headers.get("Content-Type", ""), time.monotonic())
            )  # fmt: skip
        except requests.RequestException as exc:
            outcomes.append(Outcome("result", key, None, repr(exc), "", time.monotonic()))
        time.sleep(0.05)


def _read_pages(base: str, stop: threading.Event, outcomes: list[Outcome]) -> None:
    session = requests.Session()
    while not stop.is_set():
        try:
            response = session.get(f"{base}/statistics/", timeout=15)
            outcomes.append(
                Outcome("page", "statistics", response.status_code, response.text,
                        response.headers.get("Content-Type", ""), time.monotonic())
            )  # fmt: skip
        except requests.RequestException as exc:
            outcomes.append(Outcome("page", "statistics", None, repr(exc), "", time.monotonic()))
        time.sleep(0.1)


def test_postgresql_crash_and_restart_under_load_loses_nothing_acknowledged(
    cluster: tuple[PrivatePostgres, dict[str, str]], tmp_path: Path
) -> None:
    postgres, env = cluster
    token = _lab_token(env)
    server = Server(env=env, log=tmp_path / "serve.log").start()
    outcomes: list[Outcome] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=_post_results, args=(server.base, token, p, stop, outcomes))
        for p in ("A", "B")
    ]
    clients.append(threading.Thread(target=_read_pages, args=(server.base, stop, outcomes)))
    try:
        for client in clients:
            client.start()
        time.sleep(3)
        down_at = time.monotonic()
        postgres.stop("immediate")
        time.sleep(3)
        postgres.start()
        up_at = time.monotonic()
        time.sleep(6)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
        server.stop()

    results = [o for o in outcomes if o.what == "result"]
    acknowledged = {o.key for o in results if o.status is not None and 200 <= o.status < 300}
    stored = set(
        postgres.sql(f"SELECT lab_result_id FROM cases_testresult WHERE lab_code = '{LAB}'").split()
    )
    lost = sorted(acknowledged - stored)
    failed = [o for o in outcomes if o.status is None or not 200 <= o.status < 300]
    report = (
        f"requests {len(outcomes)}, results acknowledged {len(acknowledged)}, stored "
        f"{len(stored & {o.key for o in results})}, lost {len(lost)}, failed cleanly "
        f"{len(failed)} (outage {up_at - down_at:.1f} s)"
    )
    print(f"\nPostgreSQL crash and restart: {report}")

    assert lost == [], f"acknowledged but not stored: {lost[:10]} — {report}"
    assert failed, f"no request failed: the outage was not felt — {report}"
    no_answer = [o for o in failed if o.status is None]
    assert no_answer == [], f"the server dropped requests instead of answering: {no_answer[:3]}"
    for outcome in failed:
        assert outcome.status in {500, 503}, (outcome.status, outcome.body[:300])
        assert "Traceback" not in outcome.body
        assert "psycopg" not in outcome.body.lower()
        assert "OperationalError" not in outcome.body
        if outcome.what == "page":
            assert SORRY in outcome.body, outcome.body[:300]
    # Recovered by itself: everything in the last three seconds succeeded, after the restart.
    tail = [o for o in outcomes if o.at > up_at + 3]
    assert tail, "no requests after the restart"
    assert all(o.status is not None and 200 <= o.status < 300 for o in tail), [
        (o.what, o.status, o.body[:200]) for o in tail if o.status != 200
    ]
