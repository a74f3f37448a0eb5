"""Real components for the fault tests: a private PostgreSQL cluster this test may stop, start
and break (never the machine's own server), and `confide serve` / `confide worker` processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from conftest import unavailable
from tests.support.smtp_sink import free_port

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("CONFIDE_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "confide_serving_faults"


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the cluster as the `postgres` user then."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        unavailable("running as root without runuser: cannot start a private PostgreSQL")
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL cluster in a temporary directory, on its own port."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*_as_postgres_user(), *args], check=False, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def create(self) -> PrivatePostgres:
        if not (PG_BIN / "initdb").exists():
            unavailable(f"PostgreSQL server binaries not found in {PG_BIN} (CONFIDE_PG_BIN)")
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.root.parent.chmod(0o711)  # the postgres user must reach its directory
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self.start()
        self._run(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            DATABASE,
        )  # fmt: skip
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash: no checkpoint, recovery from the WAL at the next start."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def sql(self, statement: str) -> str:
        result = self._run(
            str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "-d", DATABASE, "-At", "-v", "ON_ERROR_STOP=1", "-c", statement,
        )  # fmt: skip
        return result.stdout.strip()

    def destroy(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)


def psql_available() -> bool:
    return (PG_BIN / "psql").exists() or shutil.which("psql") is not None


def confide_environment(*, database_url: str, key_ring: Path, data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CONFIDE_MASTER_KEYS", "CONFIDE_ACTIVE_MASTER_KEY", "CONFIDE_INDEX_KEY"}
        and not k.startswith("PYTEST")
    }
    env.update(
        DATABASE_URL=database_url,
        CONFIDE_KEYS_FILE=str(key_ring),
        CONFIDE_DATA_DIR=str(data_dir),
        CONFIDE_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    return env


def confide(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "confide.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"confide {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Server:
    """`confide serve` in its own process, logging to a file."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    extra: Sequence[str] = ("--workers", "2", "--threads", "4")
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> Server:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "confide.cli", "serve", "--bind", f"127.0.0.1:{self.port}",
                 *self.extra],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"confide serve exited:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or still booting
                pass
            time.sleep(0.25)
        raise AssertionError(f"confide serve did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()
