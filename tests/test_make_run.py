"""`make run` on a fresh clone serves a page within 3 minutes, and running it twice is safe."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_page(url: str, process: subprocess.Popen[bytes], deadline: float) -> str:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 — loopback
                return str(response.read().decode())
        except OSError:
            time.sleep(1)
    raise AssertionError(f"no page at {url} within {BUDGET_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "confide"
    subprocess.run(["git", "clone", "--quiet", "--local", str(REPO), str(clone)], check=True)
    return clone


@pytest.fixture
def run_environment(fresh_clone: Path) -> Iterator[dict[str, str]]:
    """The user's environment: no test settings; on the PostgreSQL pass, a new empty database."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CONFIDE_", "PYTEST", "DJANGO"))
    }
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = ":".join(p for p in env["PATH"].split(":") if ".venv" not in p)
    database_url = os.environ.get("DATABASE_URL", "")
    database = ""
    if database_url.startswith("postgres"):
        database = f"confide_make_run_{os.getpid()}"
        base, _, _ = database_url.rpartition("/")
        env["DATABASE_URL"] = f"{base}/{database}"
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    else:
        env.pop("DATABASE_URL", None)
    yield env
    if database:
        subprocess.run(
            ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", database], check=False
        )


def _make_run(clone: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["make", "run", f"PORT={port}", "CASES=200"],
        cwd=clone,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


# db_independent: `make run` is the SQLite demo (README); what it does on the database
# (migrations, the demo load) the rest of the suite proves on PostgreSQL too.
@pytest.mark.slow
@pytest.mark.db_independent
def test_make_run_on_a_fresh_clone_serves_a_page_within_three_minutes_and_twice(
    fresh_clone: Path, run_environment: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    started = time.monotonic()
    first = _make_run(fresh_clone, run_environment, port, tmp_path / "first.log")
    try:
        page = _wait_for_page(f"http://127.0.0.1:{port}/", first, started + BUDGET_SECONDS)
        elapsed = time.monotonic() - started
    finally:
        _stop(first)
    output = (tmp_path / "first.log").read_text()
    assert "Confide" in page
    assert elapsed < BUDGET_SECONDS
    assert "Loaded 200 cases" in output
    assert "confide-demo-password" in output, "make run must print the demo logins"

    second = _make_run(fresh_clone, run_environment, port, tmp_path / "second.log")
    try:
        _wait_for_page(f"http://127.0.0.1:{port}/healthz", second, time.monotonic() + 120)
    finally:
        _stop(second)
    again = (tmp_path / "second.log").read_text()
    assert "already loaded (200 cases)" in again
    assert "Loaded 200 cases" not in again
    print(f"make run served its first page after {elapsed:.1f} s")
