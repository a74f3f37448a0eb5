"""Messaging benchmarks (issue 3).

1. Dispatch throughput: `dispatch_due_messages()` sending N queued staff emails through the
   whole production path (claim, unseal, render, one-recipient guard, Django's SMTP backend,
   outcome committed per message) to a real SMTP server in its own process
   (tests/support/smtp_sink.py, aiosmtpd, journalling every message), against a raw smtplib
   loop sending the same rendered messages (same subjects, bodies, recipients, Message-IDs)
   over one connection to the same server. Target: at least 0.8 of the raw loop.
2. Cohort broadcast: `broadcast_to_staff()` for a cohort of 10,000 staff (created beforehand
   in bulk, not timed; the call itself fetches the members), against a raw executemany INSERT
   of the same 10,000 rows into a scratch table with the message table's columns.
   Target: under 2 s.

Each figure is the median of `repeats` runs, alternating with its baseline. Then each path is
taken apart: the same production functions called one step at a time, so a proposal to change
one step can be weighed against the whole.
"""

from __future__ import annotations

import cProfile
import smtplib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.mime.text import MIMEText
from email.utils import formatdate, parseaddr
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone
from rich.progress import Progress

from bench.report import Machine
from confide.messaging import dispatch
from confide.messaging.models import Broadcast, Channel, Message, MessageState, MessageTemplate
from confide.messaging.services import (
    MessageRows,
    broadcast_recipients,
    broadcast_to_staff,
    current_template,
    data_key_from_columns,
    insert_message_rows,
)
from confide.messaging.template_types import TemplateKind
from confide.messaging.transports import (
    Envelope,
    check_one_email_address,
    email_bytes,
    from_header_line,
    message_id,
)
from confide.privacy.crypto import unwrap_data_key
from confide.privacy.models import DataKey
from confide.staff.models import Role, StaffMember, TrainingCohort
from confide.staff.services import build_staff_member, create_staff_member
from tests.support.smtp_sink import SmtpSink

TARGET_DISPATCH_RATIO = 0.8
TARGET_BROADCAST_SECONDS = 2.0
GIVEN_NAMES = ("Amara", "Bethan", "Callum", "Dewi", "Esther", "Farid", "Gwen", "Hamish")
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    dispatch: int
    cohort: int
    repeats: int
    step_sample: int  # messages per round when timing dispatch's steps one by one


FULL = Sizes(dispatch=2_000, cohort=10_000, repeats=3, step_sample=300)
QUICK = Sizes(dispatch=200, cohort=1_000, repeats=1, step_sample=100)


@dataclass
class Timings:
    seconds: list[float] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def rate(self, count: int) -> float:
        return count / self.median

    def runs(self, digits: int = 2) -> str:
        return ", ".join(f"{s:.{digits}f}" for s in self.seconds)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


# -- world ------------------------------------------------------------------------------------


def create_cohort(name: str, count: int, progress: Progress) -> TrainingCohort:
    """`count` staff built and sealed one by one, inserted in bulk (as the demo generator does)."""
    task = progress.add_task(f"Creating {count:,} staff ({name})", total=count)
    cohort = TrainingCohort.objects.create(name=name, starts_on=timezone.localdate())
    slug = name.lower().replace(" ", "-")
    for start in range(0, count, 1_000):
        members = [
            build_staff_member(
                display_name=f"{GIVEN_NAMES[n % len(GIVEN_NAMES)]} Tracer",
                email=f"{slug}-{n:05d}@confide.example.org",
                role=Role.CALL_HANDLER,
            )
            for n in range(start, min(count, start + 1_000))
        ]
        with transaction.atomic():
            DataKey.objects.bulk_create([m.data_key for m in members])
            StaffMember.objects.bulk_create(members)
            cohort.members.add(*members)
        progress.advance(task, len(members))
    return cohort


def staff_email_template() -> MessageTemplate:
    return current_template(kind=TemplateKind.STAFF_BROADCAST, channel=Channel.EMAIL)


@contextmanager
def smtp_server(progress: Progress) -> Iterator[SmtpSink]:
    task = progress.add_task("Starting the SMTP server (aiosmtpd, own process)", total=1)
    with TemporaryDirectory(prefix="confide-bench-mail-") as mail:
        sink = SmtpSink(journal=Path(mail) / "journal.jsonl").start()
        progress.advance(task)
        try:
            with override_settings(
                CONFIDE_EMAIL_TRANSPORT="smtp",
                CONFIDE_EMAIL_TRANSPORT_BACKEND=SMTP_BACKEND,
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=sink.port,
                EMAIL_HOST_USER="",
                EMAIL_HOST_PASSWORD="",
                EMAIL_USE_TLS=False,
                EMAIL_USE_SSL=False,
            ):
                yield sink
        finally:
            sink.stop()


def journal_size(sink: SmtpSink) -> int:
    if not sink.journal.exists():
        return 0
    with sink.journal.open("rb") as handle:
        return sum(1 for _ in handle)


@contextmanager
def counting_smtp_connections() -> Iterator[list[int]]:
    """Counts the TCP connections smtplib opens (observation only: nothing else changes)."""
    opened = [0]
    original = smtplib.SMTP.connect

    def connect(self: smtplib.SMTP, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        opened[0] += 1
        return original(self, *args, **kwargs)

    smtplib.SMTP.connect = connect  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        smtplib.SMTP.connect = original  # type: ignore[method-assign]


def profiled(profile_dir: Path | None, name: str, call: Callable[[], Any]) -> None:
    """Run `call` once more under cProfile (never one of the timed runs) and save the stats."""
    if profile_dir is None:
        return
    profile_dir.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile()
    profiler.runcall(call)
    profiler.dump_stats(profile_dir / f"{name}-{connection.vendor}.prof")


def best_per_item(
    step: Callable[[T], object],
    items: Sequence[T],
    rounds: int = 5,
    before_round: Callable[[], object] | None = None,
) -> float:
    """Microseconds per item, best of `rounds` (the least disturbed by other work on the host)."""
    best = float("inf")
    for _ in range(rounds):
        if before_round is not None:
            before_round()
        started = time.perf_counter()
        for item in items:
            step(item)
        best = min(best, (time.perf_counter() - started) / len(items))
    return best * 1e6


# -- 1. dispatch throughput -------------------------------------------------------------------


def requeue(broadcast: Broadcast) -> None:
    Message.objects.filter(broadcast=broadcast).update(
        state=MessageState.QUEUED,
        attempts=0,
        next_attempt_at=timezone.now(),
        lease_expires_at=None,
        sent_at=None,
        provider_reference="",
    )


def messages_of(broadcast: Broadcast) -> list[Message]:
    query = Message.objects.filter(broadcast=broadcast).select_related("template", "data_key")
    return list(query.order_by("pk"))


def time_dispatch(broadcast: Broadcast, sink: SmtpSink, count: int) -> tuple[float, int]:
    requeue(broadcast)
    before = journal_size(sink)
    with counting_smtp_connections() as opened:
        started = time.perf_counter()
        report = dispatch.dispatch_due_messages()
        elapsed = time.perf_counter() - started
    assert report.sent == count, f"dispatch sent {report.sent} of {count}"
    assert journal_size(sink) - before == count, "the server did not receive every message"
    return elapsed, opened[0]


def raw_mime(envelope: Envelope) -> bytes:
    mime = MIMEText(envelope.body, "plain", "utf-8")
    mime["Subject"] = envelope.subject
    mime["From"] = settings.DEFAULT_FROM_EMAIL
    mime["To"] = envelope.recipient
    mime["Date"] = formatdate(localtime=True)
    mime["Message-ID"] = message_id(envelope.reference)
    return mime.as_bytes()


def time_raw_smtp(envelopes: list[Envelope], sink: SmtpSink) -> tuple[float, int]:
    """What a hand-written script does: one connection, build each MIME message, sendmail."""
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    before = journal_size(sink)
    with counting_smtp_connections() as opened:
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            for envelope in envelopes:
                smtp.sendmail(sender, [envelope.recipient], raw_mime(envelope))
        elapsed = time.perf_counter() - started
    assert journal_size(sink) - before == len(envelopes), "the server did not receive every message"
    return elapsed, opened[0]


def transport_email_bytes(envelope: Envelope) -> bytes:
    """What SmtpTransport.send does to one message before the socket: the one-recipient check
    and writing the message."""
    address = check_one_email_address(envelope.recipient)
    return email_bytes(
        envelope, address=address, from_header=from_header_line(settings.DEFAULT_FROM_EMAIL)
    )


def dispatch_steps(
    broadcast: Broadcast, sink: SmtpSink, sample: int
) -> list[tuple[str, float, str]]:
    """Per-message cost of each step of a send, best of 5 rounds: (step, µs, what it is)."""
    messages = messages_of(broadcast)[:sample]
    envelopes = [dispatch.envelope_for(m) for m in messages]
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    payloads = [(e.recipient, raw_mime(e)) for e in envelopes]

    def back_to_sending() -> None:
        Message.objects.filter(pk__in=[m.pk for m in messages]).update(state=MessageState.SENDING)

    overlapped = dispatch.overlaps_outcomes()
    writer = dispatch.OutcomeWriter() if overlapped else None

    def record_outcome(message: Message) -> None:
        # Exactly as dispatch records a success, with message_state_changed: on PostgreSQL sent
        # by the OutcomeWriter (here waited for at once), elsewhere `_finish`.
        if writer is None:
            dispatch._finish(message, MessageState.SENT, sent_at=timezone.now(), last_error="")
        else:
            writer.record(message, MessageState.SENT, sent_at=timezone.now(), last_error="")
            writer.wait()

    def claim_batches() -> float:
        """µs per message to claim every message in batches, as dispatch does."""
        requeue(broadcast)
        started = time.perf_counter()
        claimed = 0
        batch_size = settings.CONFIDE_MESSAGE_BATCH_SIZE
        while batch := dispatch.claim_due_messages(limit=batch_size, now=timezone.now()):
            claimed += len(batch)
        return (time.perf_counter() - started) / claimed * 1e6

    def reopen_each_time(payload: tuple[str, bytes]) -> None:
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            smtp.sendmail(sender, [payload[0]], payload[1])

    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        kept_open = best_per_item(lambda p: smtp.sendmail(sender, [p[0]], p[1]), payloads, 3)
    with dispatch._outcomes_committed_asynchronously():  # as during a dispatch pass
        try:
            outcome = best_per_item(record_outcome, messages, before_round=back_to_sending)
        finally:
            if writer is not None:
                writer.close()
    claim = min(claim_batches() for _ in range(3))
    steps = [
        (
            "unseal and render (`envelope_for`)",
            best_per_item(dispatch.envelope_for, messages),
            "dispatch",
        ),
        (
            "one-recipient check, message bytes (`email_bytes`)",
            best_per_item(transport_email_bytes, envelopes),
            "dispatch",
        ),
        ("stdlib `MIMEText`, MIME bytes", best_per_item(raw_mime, envelopes), "raw loop"),
        (
            f"claim in batches of {settings.CONFIDE_MESSAGE_BATCH_SIZE}: lock, lease, fetch",
            claim,
            "dispatch, on a second connection while the previous batch is sent (`ClaimAhead`)"
            if overlapped
            else "dispatch",
        ),
        (
            "record the outcome: UPDATE + commit, `message_state_changed` receivers",
            outcome,
            "dispatch, overlapped with the next message's MAIL and RCPT (`OutcomeWriter`)"
            if overlapped
            else "dispatch",
        ),
        (
            "SMTP on an open connection: MAIL, RCPT, DATA (server time included)",
            kept_open,
            "raw loop",
        ),
        (
            "SMTP on a new connection: connect, EHLO, MAIL, RCPT, DATA, QUIT",
            best_per_item(reopen_each_time, payloads, 3),
            "neither (for comparison: a connection per message)",
        ),
    ]
    requeue(broadcast)
    return steps


@dataclass
class DispatchResult:
    count: int
    batch_size: int
    dispatch: Timings
    raw: Timings
    steps: list[tuple[str, float, str]] = field(default_factory=list)
    overlapped: bool = False  # `OutcomeWriter` and `ClaimAhead` (PostgreSQL)

    @property
    def ratio(self) -> float:
        return self.raw.median / self.dispatch.median


def bench_dispatch(
    sizes: Sizes, supervisor: StaffMember, progress: Progress, profile_dir: Path | None
) -> DispatchResult:
    cohort = create_cohort("Dispatch cohort", sizes.dispatch, progress)
    broadcast = broadcast_to_staff(
        members=cohort.members.select_related("data_key"),
        group_name=cohort.name,
        template=staff_email_template(),
        sent_by=supervisor,
    )
    # The raw loop's input: the messages exactly as dispatch renders them (not timed).
    envelopes = [dispatch.envelope_for(m) for m in messages_of(broadcast)]
    result = DispatchResult(
        count=len(envelopes),
        batch_size=settings.CONFIDE_MESSAGE_BATCH_SIZE,
        dispatch=Timings(),
        raw=Timings(),
        overlapped=dispatch.overlaps_outcomes(),
    )
    task = progress.add_task(
        f"Sending {result.count:,} emails: dispatch vs raw smtplib", total=2 * sizes.repeats + 1
    )
    with smtp_server(progress) as sink:
        # Warm both paths up (imports, first connections) before anything is timed.
        time_raw_smtp(envelopes[:50], sink)
        requeue(broadcast)
        dispatch.dispatch_due_messages(max_batches=1)
        for _ in range(sizes.repeats):
            for timings, run in (
                (result.raw, lambda: time_raw_smtp(envelopes, sink)),
                (result.dispatch, lambda: time_dispatch(broadcast, sink, result.count)),
            ):
                seconds, connections = run()
                timings.seconds.append(seconds)
                timings.connections.append(connections)
                progress.advance(task)
        result.steps = dispatch_steps(broadcast, sink, sizes.step_sample)
        progress.advance(task)
        if profile_dir is not None:
            requeue(broadcast)
            profiled(profile_dir, "dispatch", dispatch.dispatch_due_messages)
    Message.objects.filter(broadcast=broadcast).update(state=MessageState.CANCELLED)
    return result


# -- 2. cohort broadcast ----------------------------------------------------------------------

SCRATCH_TABLE = "bench_scratch_message"


def scratch_table_like_messages() -> tuple[str, list[str]]:
    """An empty table with the message table's columns (no keys, indexes or constraints)."""
    scratch = connection.ops.quote_name(SCRATCH_TABLE)
    source = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {scratch} (LIKE {source})")
        else:
            # Identifiers are this module's constants and Django's table name, quoted.
            cursor.execute(f"CREATE TABLE {scratch} AS SELECT * FROM {source} WHERE 0")  # noqa: S608
    return scratch, [f.column for f in Message._meta.concrete_fields]


def message_rows(broadcast: Broadcast, columns: list[str]) -> list[tuple[Any, ...]]:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    source = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quoted} FROM {source} WHERE broadcast_id = %s ORDER BY id",  # noqa: S608
            [broadcast.pk],
        )
        return list(cursor.fetchall())


def time_raw_insert(scratch: str, columns: list[str], rows: list[tuple[Any, ...]]) -> float:
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    insert = f"INSERT INTO {scratch} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {scratch}")  # noqa: S608
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(insert, rows)
    return time.perf_counter() - started


def time_broadcast(
    cohort: TrainingCohort, template: MessageTemplate, supervisor: StaffMember, count: int
) -> tuple[float, Broadcast]:
    started = time.perf_counter()
    broadcast = broadcast_to_staff(
        members=cohort.members.select_related("data_key"),
        group_name=cohort.name,
        template=template,
        sent_by=supervisor,
    )
    elapsed = time.perf_counter() - started
    assert broadcast.recipient_count == count
    return elapsed, broadcast


def forget(broadcast: Broadcast) -> None:
    Message.objects.filter(broadcast=broadcast).delete()
    broadcast.delete()


class RolledBack(Exception):
    pass


def broadcast_steps(
    cohort: TrainingCohort, template: MessageTemplate, supervisor: StaffMember
) -> list[tuple[str, float]]:
    """broadcast_to_staff's work, one step at a time, in a transaction rolled back after."""
    steps: list[tuple[str, float]] = []

    def timed(name: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = call()
        steps.append((name, time.perf_counter() - started))
        return value

    address_field = "staff.email" if template.channel == Channel.EMAIL else "staff.phone"
    try:
        with transaction.atomic():
            recipients = timed(
                "fetch the members' ids, data keys, sealed names and addresses (`values_list`)",
                lambda: broadcast_recipients(cohort.members.all(), template.channel),
            )
            keys = timed(
                "unwrap each member's data key",
                lambda: [unwrap_data_key(data_key_from_columns(r[3:])) for r in recipients],
            )
            contacts = timed(
                "open each member's name and address",
                lambda: [
                    (key.open("staff.display_name", r[1]) or "", key.open(address_field, r[2]))
                    for r, key in zip(recipients, keys, strict=True)
                ],
            )
            broadcast = Broadcast.objects.create(
                template=template,
                group_name=cohort.name,
                recipient_count=len(recipients),
                sent_by=supervisor,
            )
            row = MessageRows(template=template, broadcast=broadcast)
            rows = timed(
                "seal each message's address and personalisation into a row (`MessageRows`)",
                lambda: [
                    row.to_staff(
                        r[0],
                        key,
                        address or "",
                        {"first_name": name.split()[0], "group_name": cohort.name},
                    )
                    for r, key, (name, address) in zip(recipients, keys, contacts, strict=True)
                ],
            )
            timed(
                "`insert_message_rows` (COPY on PostgreSQL, executemany on SQLite)",
                lambda: insert_message_rows(row.columns, rows),
            )
            raise RolledBack
    except RolledBack:
        pass
    return steps


@dataclass
class BroadcastResult:
    count: int
    broadcast: Timings
    raw: Timings
    steps: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.broadcast.median / self.raw.median


def bench_broadcast(
    sizes: Sizes, supervisor: StaffMember, progress: Progress, profile_dir: Path | None
) -> BroadcastResult:
    cohort = create_cohort("Broadcast cohort", sizes.cohort, progress)
    template = staff_email_template()
    result = BroadcastResult(count=sizes.cohort, broadcast=Timings(), raw=Timings())
    scratch, columns = scratch_table_like_messages()
    task = progress.add_task(
        f"Queueing a broadcast to {sizes.cohort:,} staff vs raw INSERT",
        total=2 * sizes.repeats + 1,
    )
    rows: list[tuple[Any, ...]] = []
    for _ in range(sizes.repeats):
        seconds, broadcast = time_broadcast(cohort, template, supervisor, sizes.cohort)
        result.broadcast.seconds.append(seconds)
        progress.advance(task)
        rows = rows or message_rows(broadcast, columns)
        forget(broadcast)
        result.raw.seconds.append(time_raw_insert(scratch, columns, rows))
        progress.advance(task)
    result.steps = broadcast_steps(cohort, template, supervisor)
    progress.advance(task)
    if profile_dir is not None:
        profiled(
            profile_dir,
            "broadcast",
            lambda: forget(time_broadcast(cohort, template, supervisor, sizes.cohort)[1]),
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {scratch}")
    return result


# -- report -----------------------------------------------------------------------------------


def _met(met: bool) -> str:
    return "**yes**" if met else "**no**"


def markdown(machine: Machine, sent: DispatchResult, queued: BroadcastResult) -> str:
    database = machine.database.split(" (")[0]
    summary = table(
        ["measure", "Confide", "baseline, same run", "ratio", "target", "met"],
        [
            [
                f"send {sent.count:,} queued emails to a local SMTP server",
                f"{sent.dispatch.rate(sent.count):,.0f} msg/s (`dispatch_due_messages`)",
                f"{sent.raw.rate(sent.count):,.0f} msg/s (raw smtplib loop, one connection)",
                f"{sent.ratio:.2f} of raw",
                f"at least {TARGET_DISPATCH_RATIO} of raw",
                _met(sent.ratio >= TARGET_DISPATCH_RATIO),
            ],
            [
                f"queue a broadcast to {queued.count:,} staff",
                f"{queued.broadcast.median:.2f} s (`broadcast_to_staff`)",
                f"{queued.raw.median:.3f} s (executemany INSERT of the same rows)",
                f"{queued.ratio:.1f} times raw",
                f"under {TARGET_BROADCAST_SECONDS:.0f} s",
                _met(queued.broadcast.median < TARGET_BROADCAST_SECONDS),
            ],
        ],
    )
    measured = [
        [
            f"*measured: one message of the {label} runs (median run)*",
            f"*{timings.median / sent.count * 1e6:,.0f}*",
            label,
        ]
        for label, timings in (("dispatch", sent.dispatch), ("raw loop", sent.raw))
    ]
    send_steps = table(
        ["step of one send", "µs per message", "taken by"],
        [[name, f"{micros:,.0f}", who] for name, micros, who in sent.steps] + measured,
    )
    queue_steps = table(
        [f"step of a broadcast to {queued.count:,}", "seconds"],
        [[name, f"{seconds:.2f}"] for name, seconds in queued.steps]
        + [["sum of the steps", f"{sum(s for _n, s in queued.steps):.2f}"]],
    )
    outcomes = (
        "each outcome sent without waiting and committed while the next message is addressed, "
        "before it is handed over; each next batch claimed on a second connection meanwhile"
        if sent.overlapped
        else "each outcome committed before the next message is sent"
    )
    return f"""## Messaging on {database}

{machine.describe()}

{summary}

Medians of {len(sent.dispatch.seconds)} runs, each alternating with its baseline. Dispatch runs
took {sent.dispatch.runs()} s (batch size {sent.batch_size}; {outcomes}) and opened
{sent.dispatch.connections[-1]:,} SMTP connections each; raw runs took {sent.raw.runs()} s and
opened {sent.raw.connections[-1]} connection each. Broadcast runs took {queued.broadcast.runs()} s
(fetching the members, unsealing each member's address, sealing each message, inserting); the
raw INSERT took {queued.raw.runs(3)} s into a table with the message table's columns and no
indexes or constraints. The SMTP server (aiosmtpd) runs in its own process on the same machine
and journals every message to disk.

Where a send's time goes (each step timed alone on the same messages, best of 5 rounds):

{send_steps}

Where the broadcast's time goes (the same production calls one step at a time, rolled back):

{queue_steps}"""


def run(
    progress: Progress, *, machine: Machine, quick: bool = False, profile_dir: Path | None = None
) -> dict[str, str]:
    sizes = QUICK if quick else FULL
    supervisor = create_staff_member(
        display_name="Sian Supervisor", email="supervisor@confide.example.org", role=Role.SUPERVISOR
    )
    sent = bench_dispatch(sizes, supervisor, progress, profile_dir)
    queued = bench_broadcast(sizes, supervisor, progress, profile_dir)
    return {f"messaging:{connection.vendor}": markdown(machine, sent, queued)}
