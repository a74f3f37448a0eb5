"""The load generator of bench/load.py and tests/test_scale_out.py: locust as a library, headless.

    python -m bench.load_locust SPEC.json RESULT.json

It runs in a process of its own because gevent patches the standard library (sockets, threads)
on import, which must never happen under Django and psycopg; it speaks only HTTP, and reads
everything it needs (addresses, sign-ins, TOTP keys, API tokens, rates) from SPEC, written by the
caller as a `LoadSpec`. RESULT gets the statistics per operation and what the users saw done:
which tracer was given which work item, which contacts and lab results were accepted.

Every request is one task run, so `constant_throughput` holds each user's request rate (an open
model as far as a closed-loop generator allows: while responses are faster than the pacing
interval, the offered rate does not depend on the server).
"""

from __future__ import annotations

from gevent import monkey  # type: ignore[import-untyped]

monkey.patch_all()

import itertools  # noqa: E402 — after the patch, as gevent requires
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, ClassVar  # noqa: E402

import gevent  # noqa: E402
from django_otp.oath import totp  # noqa: E402 — the pure RFC 6238 function, no Django needed
from locust import FastHttpUser, User, constant, constant_throughput, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from bench.load_spec import (  # noqa: E402
    CLAIM_NEXT,
    COMPLETE,
    CONTACT_FORM,
    LAB_RESULTS,
    READ_CASE,
    RECORD_ATTEMPT,
    RECORD_CONTACT,
    SATURATED_FLOOR,
    SECOND_FACTOR,
    SECOND_FACTOR_PAGE,
    SIGN_IN,
    SIGN_IN_OPERATIONS,
    SIGN_IN_PAGE,
    YOUR_WORK,
    LoadSpec,
)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ITEM_PATH = re.compile(r"^/work/items/(\d+)/$")
GIVEN_NAMES = ("Aled", "Bronwen", "Chidi", "Dana", "Eilidh", "Femi", "Grace", "Hari", "Ines")
FAMILY_NAMES = ("Adeyemi", "Bell", "Campbell", "Dhillon", "Evans", "Fraser", "Gill", "Hughes")


@dataclass
class Seen:
    """What the users were told was done (the database is checked against it afterwards)."""

    claims: dict[str, list[int]] = field(default_factory=dict)  # tracer email -> item ids
    completed: int = 0
    queue_empty: int = 0
    contacts: list[str] = field(default_factory=list)  # contact emails accepted
    lab_results: list[str] = field(default_factory=list)  # lab_result_ids imported
    lab_positives: int = 0
    signed_in: int = 0
    sign_in_failures: int = 0
    requests_by_host: dict[str, int] = field(default_factory=dict)


SPEC: LoadSpec
SEEN = Seen()


class Unexpected(Exception):
    """The server answered, but not as the journey expects; the journey starts again."""


def _failure(response: Any) -> str:
    """For a request that got no answer, why (connection refused, reset, timed out)."""
    error = getattr(response, "error", None)
    return f"({type(error).__name__}: {error})" if error else ""


def _csrf(html: str, fallback: str = "") -> str:
    found = CSRF.search(html)
    return found.group(1) if found else fallback


class Paths:
    """Requests go to one host, or (rotate_hosts) to each host in turn, as a load balancer
    without sticky sessions would send them."""

    def __init__(self, index: int) -> None:
        self.hosts = itertools.cycle(
            SPEC.hosts[index % len(SPEC.hosts) :] + SPEC.hosts[: index % len(SPEC.hosts)]
        )
        self.fixed = SPEC.hosts[index % len(SPEC.hosts)]

    def __call__(self, path: str) -> str:
        host = next(self.hosts) if SPEC.rotate_hosts else self.fixed
        SEEN.requests_by_host[host] = SEEN.requests_by_host.get(host, 0) + 1
        return host + path


class Tracer(FastHttpUser):
    """A tracer's journey over HTTP, as tests/browser/test_tracer_journey.py does it in Chromium:
    sign in with both factors, then: your work, claim next, read the case, record a call
    attempt, add a contact, read the case again, complete; and again."""

    host = "http://127.0.0.1"
    numbers: ClassVar[Iterator[int]] = itertools.count()

    def on_start(self) -> None:
        self.index = next(Tracer.numbers)
        self.login = SPEC.tracers[self.index]
        self.url = Paths(self.index)
        SEEN.claims[self.login.email] = []
        self.steps: Iterator[None] = iter(())
        self.signed_in = False
        self.try_to_sign_in()

    def try_to_sign_in(self) -> None:
        try:
            self.sign_in()
        except Unexpected:
            SEEN.sign_in_failures += 1
        else:
            self.signed_in = True
            SEEN.signed_in += 1

    def _post(self, path: str, name: str, data: dict[str, str], expect: str | re.Pattern[str]):
        """POST a form; the answer must be a redirect to `expect`. Returns the Location."""
        with self.client.post(
            self.url(path), data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            matches = (
                expect.match(location) if isinstance(expect, re.Pattern) else location == expect
            )
            if response.status_code != 302 or not matches:
                response.failure(
                    f"expected a redirect to {getattr(expect, 'pattern', expect)}, "
                    f"got {response.status_code} {_failure(response)}"
                )
                raise Unexpected(name)
            response.success()
            return location

    def _get(self, path: str, name: str) -> str:
        with self.client.get(
            self.url(path), name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(
                    f"expected the page, got {response.status_code} {_failure(response)}"
                )
                raise Unexpected(name)
            response.success()
            return response.text or ""

    def sign_in(self) -> None:
        page = self._get("/sign-in/", SIGN_IN_PAGE)
        self._post(
            "/sign-in/",
            SIGN_IN,
            {
                "csrfmiddlewaretoken": _csrf(page),
                "username": self.login.email,
                "password": SPEC.password,
            },
            "/sign-in/two-factor/",
        )
        # The CSRF secret changes at sign-in: take the token from the code page.
        page = self._get("/sign-in/two-factor/", SECOND_FACTOR_PAGE)
        code = f"{totp(bytes.fromhex(self.login.totp_key)):06d}"
        self._post(
            "/sign-in/two-factor/",
            SECOND_FACTOR,
            {"csrfmiddlewaretoken": _csrf(page), "code": code},
            "/work/",
        )

    def journey(self) -> Iterator[None]:
        page = self._get("/work/", YOUR_WORK)
        yield
        location = self._post(
            "/work/next/",
            CLAIM_NEXT,
            {"csrfmiddlewaretoken": _csrf(page)},
            re.compile(r"^/work/(items/\d+/)?$"),
        )
        found = ITEM_PATH.match(location)
        if found is None:  # nothing waiting in this tier's queue
            SEEN.queue_empty += 1
            return
        item_id = int(found.group(1))
        claims = SEEN.claims[self.login.email]
        if not claims or claims[-1] != item_id:  # a held item is given back as it is
            claims.append(item_id)
        item = f"/work/items/{item_id}/"
        yield
        page = self._get(item, READ_CASE)
        token = _csrf(page)
        yield
        self._post(
            f"{item}calls/",
            RECORD_ATTEMPT,
            {"csrfmiddlewaretoken": token, "call-outcome": "completed"},
            item,
        )
        yield
        page = self._get(f"{item}contacts/add/", CONTACT_FORM)
        yield
        email = f"contact-{uuid.uuid4().hex[:16]}@example.org"
        last_contact = date.today() - timedelta(days=1)
        self._post(
            f"{item}contacts/add/",
            RECORD_CONTACT,
            {
                "csrfmiddlewaretoken": _csrf(page),
                "given_name": random.choice(GIVEN_NAMES),
                "family_name": random.choice(FAMILY_NAMES),
                "phone": "",
                "email": email,
                "nhs_number": "",
                "last_contact_day": str(last_contact.day),
                "last_contact_month": str(last_contact.month),
                "last_contact_year": str(last_contact.year),
                "proximity": "close",
            },
            item,
        )
        SEEN.contacts.append(email)
        yield
        page = self._get(item, READ_CASE)
        yield
        self._post(
            f"{item}complete/",
            COMPLETE,
            {"csrfmiddlewaretoken": _csrf(page), "complete-outcome": "contacts"},
            "/work/",
        )
        SEEN.completed += 1

    @task
    def step(self) -> None:
        """One request of the journey per task run (so the pacing counts requests)."""
        if not self.signed_in:
            self.try_to_sign_in()
            return
        if SPEC.mode == "floor":
            self._get(SPEC.floor_path, SATURATED_FLOOR)
            return
        try:
            next(self.steps)
        except StopIteration:
            self.steps = self.journey()
            try:
                next(self.steps)
            except (StopIteration, Unexpected):
                self.steps = iter(())
        except Unexpected:
            self.steps = iter(())


class LabFeed(FastHttpUser):
    """A lab posting batches of results to the API under its own token."""

    host = "http://127.0.0.1"
    numbers: ClassVar[Iterator[int]] = itertools.count()

    def on_start(self) -> None:
        index = next(LabFeed.numbers)
        self.token = SPEC.lab_tokens[index]
        self.url = Paths(index)

    def row(self) -> dict[str, str]:
        reference = uuid.uuid4().hex
        positive = random.random() < SPEC.lab_positive_share
        return {
            "lab_result_id": f"LOAD-{reference}",
            "outcome": "positive" if positive else "negative",
            "specimen_date": (date.today() - timedelta(days=1)).isoformat(),
            "given_name": random.choice(GIVEN_NAMES),
            "family_name": random.choice(FAMILY_NAMES),
            "date_of_birth": (
                date(1950, 1, 1) + timedelta(days=random.randrange(20_000))
            ).isoformat(),
            "email": f"lab-{reference[:16]}@example.org",
        }

    @task
    def submit(self) -> None:
        rows = [self.row() for _ in range(SPEC.lab_rows)]
        with self.client.post(
            self.url("/api/results"),
            json={"rows": rows},
            headers={"Authorization": f"Bearer {self.token}"},
            name=LAB_RESULTS,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code} {_failure(response)}")
                return
            report = response.json()
            if report["imported"] != len(rows) or report["errors"]:
                response.failure(f"imported {report['imported']} of {len(rows)}")
                return
            response.success()
        SEEN.lab_results.extend(row["lab_result_id"] for row in rows)
        SEEN.lab_positives += report["positives"]


class Floor(FastHttpUser):
    """The framework floor: a trivial view through the same stack (middleware, database)."""

    host = "http://127.0.0.1"
    numbers: ClassVar[Iterator[int]] = itertools.count()

    def on_start(self) -> None:
        self.url = Paths(next(Floor.numbers))

    @task
    def floor(self) -> None:
        self.client.get(self.url(SPEC.floor_path), name=f"floor: GET {SPEC.floor_path}")


def statistics(environment: Environment, started: float, finished: float) -> dict[str, Any]:
    def entry_figures(entry: Any) -> dict[str, Any]:
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.5),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "max": entry.max_response_time,
            "mean": entry.avg_response_time,
        }

    stats = environment.stats
    return {
        "seconds": finished - started,
        "operations": {
            name: entry_figures(entry) for (name, _method), entry in stats.entries.items()
        },
        "total": entry_figures(stats.total),
        "errors": [
            {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
    }


def run(spec: LoadSpec) -> dict[str, Any]:
    global SPEC
    SPEC = spec
    Tracer.wait_time = (
        constant(0) if spec.mode == "floor" else constant_throughput(spec.tracer_rate)
    )
    Tracer.fixed_count = len(spec.tracers)
    LabFeed.wait_time = constant_throughput(spec.lab_rate)
    LabFeed.fixed_count = len(spec.lab_tokens)
    Floor.wait_time = constant_throughput(spec.floor_rate)
    Floor.fixed_count = spec.floor_users
    classes: list[type[User]] = [c for c in (Tracer, LabFeed, Floor) if c.fixed_count]
    users = sum(c.fixed_count for c in classes)
    # Users finish the request they are making when time is up (each task is one request).
    environment = Environment(user_classes=classes, stop_timeout=30)
    runner = environment.create_local_runner()
    spawned = time.time()
    runner.start(users, spawn_rate=spec.spawn_rate)
    # Sign-in hashes a password with Argon2 (slow on purpose): the measured window starts once
    # every tracer has signed in, and sign-in is reported from the time before it.
    deadline = time.monotonic() + users / spec.spawn_rate + spec.sign_in_seconds
    while SEEN.signed_in + SEEN.sign_in_failures < len(spec.tracers):
        if time.monotonic() > deadline:
            break
        gevent.sleep(0.2)
    gevent.sleep(1.0)  # the last sign-in's landing page
    signing_in = statistics(environment, spawned, time.time())
    environment.stats.reset_all()
    started = time.time()
    gevent.sleep(spec.seconds)
    finished = time.time()
    measured = statistics(environment, started, finished)
    measured["window"] = [started, finished]  # epoch seconds, to match CPU samples against
    runner.quit()
    runner.greenlet.join()
    for name in SIGN_IN_OPERATIONS:
        if name in signing_in["operations"]:
            measured["operations"][name] = signing_in["operations"][name]
    return {"statistics": measured, "before_window": signing_in, "seen": asdict(SEEN)}


def main(argv: list[str]) -> int:
    spec_path, result_path = Path(argv[0]), Path(argv[1])
    result = run(LoadSpec.read(spec_path))
    result_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
