"""A real SMTP server (aiosmtpd) in its own process, journalling every transaction.

Used by the messaging tests and benchmarks as the mail provider:

    python -m tests.support.smtp_sink --port 2525 --journal /tmp/mail.jsonl [--defer-first 5]
        [--reject bounce@example.com]

Each accepted message is one JSON line: mail_from, rcpt_tos, message_id, data.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class JournalHandler:
    def __init__(self, journal: Path, *, defer_first: int, reject: set[str]) -> None:
        self.journal = journal.open("a", encoding="utf-8")
        self.defer_remaining = defer_first
        self.reject = {r.lower() for r in reject}
        self.lock = threading.Lock()

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.reject:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.defer_remaining > 0:
                self.defer_remaining -= 1
                return "451 4.3.0 Try again later"
            raw: bytes = envelope.original_content or envelope.content
            parsed = message_from_bytes(raw)
            self.journal.write(
                json.dumps(
                    {
                        "mail_from": envelope.mail_from,
                        "rcpt_tos": list(envelope.rcpt_tos),
                        "message_id": parsed.get("Message-ID", ""),
                        "data": raw.decode("utf-8", errors="replace"),
                    }
                )
                + "\n"
            )
            self.journal.flush()
        return "250 Message accepted"


def serve(port: int, journal: Path, *, defer_first: int, reject: set[str]) -> None:
    from aiosmtpd.controller import Controller

    handler = JournalHandler(journal, defer_first=defer_first, reject=reject)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpSink:
    """Controls a sink process from a test or a benchmark."""

    journal: Path
    port: int = field(default_factory=free_port)
    defer_first: int = 0
    reject: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = None

    def start(self) -> SmtpSink:
        command = [
            sys.executable,
            "-m",
            "tests.support.smtp_sink",
            "--port",
            str(self.port),
            "--journal",
            str(self.journal),
            "--defer-first",
            str(self.defer_first),
        ]
        for address in self.reject:
            command += ["--reject", address]
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the SMTP sink did not start (said {line!r})")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def transactions(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines() if line]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.transactions()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.transactions()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--defer-first", type=int, default=0)
    parser.add_argument("--reject", action="append", default=[])
    args = parser.parse_args()
    serve(args.port, args.journal, defer_first=args.defer_first, reject=set(args.reject))


if __name__ == "__main__":
    main()
