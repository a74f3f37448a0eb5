"""What a load run does, as the caller (Django side) hands it to the load generator (gevent side).

Kept apart from bench/load_locust.py, which patches the standard library when imported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

# Operation names, as reported (docs/benchmarks.md uses them as row labels).
SIGN_IN_PAGE = "sign-in page"
SIGN_IN = "sign in (password)"
SECOND_FACTOR_PAGE = "second factor page"
SECOND_FACTOR = "second factor (TOTP)"
YOUR_WORK = "your work"
CLAIM_NEXT = "claim next"
READ_CASE = "read the case"
RECORD_ATTEMPT = "record a call attempt"
CONTACT_FORM = "contact form"
RECORD_CONTACT = "record a contact"
COMPLETE = "complete"
LAB_RESULTS = "lab feed: POST /api/results"
SATURATED_FLOOR = "floor, signed in, as fast as answered: GET /readyz"
SIGN_IN_OPERATIONS = (SIGN_IN_PAGE, SIGN_IN, SECOND_FACTOR_PAGE, SECOND_FACTOR)
# The journey a signed-in tracer repeats, in order.
JOURNEY = (
    YOUR_WORK,
    CLAIM_NEXT,
    READ_CASE,
    RECORD_ATTEMPT,
    CONTACT_FORM,
    RECORD_CONTACT,
    COMPLETE,
)


@dataclass(frozen=True)
class TracerLogin:
    email: str
    totp_key: str  # hex, as django-otp stores it


@dataclass(frozen=True)
class LoadSpec:
    """What to run: written by the caller as JSON, read by the load generator."""

    hosts: list[str]
    seconds: float
    spawn_rate: float
    password: str
    tracers: list[TracerLogin]
    tracer_rate: float  # requests per second per tracer
    lab_tokens: list[str]
    lab_rate: float  # requests per second per lab
    lab_rows: int  # results per request
    lab_positive_share: float
    floor_users: int
    floor_rate: float
    floor_path: str
    rotate_hosts: bool = False  # each request to the next host (no sticky sessions)
    sign_in_seconds: float = 300.0  # at most this long for every tracer to sign in
    # "journey": tracers work their queue, paced. "floor": signed-in tracers ask for the floor
    # path as fast as answers come (closed loop): what the stack serves at most on this machine.
    mode: str = "journey"

    @classmethod
    def read(cls, path: Path) -> LoadSpec:
        raw = json.loads(path.read_text())
        raw["tracers"] = [TracerLogin(**t) for t in raw["tracers"]]
        return cls(**raw)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))
