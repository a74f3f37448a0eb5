"""confide import-results FILE [--format csv|fhir] [--lab LAB] [--errors FILE.csv]"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from confide.ingest.models import ImportRun
from confide.ingest.parallel import default_workers
from confide.ingest.selectors import error_report_lines
from confide.ingest.services import IngestReport, UnreadableFile, ingest_csv, ingest_fhir_file


def _guess_format(path: Path) -> str:
    return "fhir" if path.suffix.lower() in (".json", ".ndjson", ".jsonl") else "csv"


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


class Command(BaseCommand):
    help = (
        "Import lab results from a CSV file or a FHIR R4 Bundle (JSON or NDJSON); "
        "see docs/ingest.md for the columns and the profile."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--format", choices=["csv", "fhir"], help="default: from the file's extension"
        )
        parser.add_argument(
            "--lab", default="", help="the lab's code (FHIR; CSV files without a lab_code column)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="helper processes that parse, validate and seal the next rows while this one "
            "writes (default: 1 when there is a second core and the machine is not busy, else 0)",
        )
        parser.add_argument(
            "--errors",
            type=Path,
            help="where to write the error report (default: FILE.errors.csv, if any row is bad)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.ending = ""
        console = Console(file=cast(IO[str], self.stdout))
        path: Path = options["file"]
        form = options["format"] or _guess_format(path)
        lab = options["lab"].strip()
        if not path.is_file():
            raise CommandError(f"{path} is not a file: check the path and try again.")
        if form == "fhir" and not lab:
            raise CommandError("FHIR files need the lab's code: add --lab LAB.")
        workers = options["workers"]
        if workers is None:
            workers = default_workers()
        try:
            total = _count_lines(path) - (1 if form == "csv" else 0)
        except OSError as exc:
            raise CommandError(f"{path} cannot be read ({exc.strerror}).") from None
        with Progress(
            TextColumn("Importing results"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("import", total=total if form == "csv" else None)

            def advance(done: int) -> None:
                progress.update(task, completed=done)

            try:
                report = self._ingest(
                    path, form=form, lab=lab, progress=advance, workers=max(0, workers)
                )
            except UnreadableFile as exc:
                raise CommandError(f"{exc} Nothing after that point was imported.") from None
        self._print(console, report)
        if report.rejected:
            target = options["errors"] or path.with_name(path.name + ".errors.csv")
            self._write_errors(report, target)
            console.print(
                f"[yellow]{report.rejected:,} rows were not imported[/yellow]: the error report "
                f"(row, field, reason) is in {target}. Correct those rows and send them again; "
                "rows already imported are skipped as duplicates.",
                soft_wrap=True,
            )

    def _ingest(
        self, path: Path, *, form: str, lab: str, progress: Any, workers: int
    ) -> IngestReport:
        if form == "fhir":
            return ingest_fhir_file(
                path, lab_code=lab, source="cli", progress=progress, workers=workers
            )
        try:
            with path.open(encoding="utf-8-sig", newline="") as stream:
                return ingest_csv(
                    stream, source="cli", progress=progress, lab_code=lab, workers=workers
                )
        except OSError as exc:
            raise CommandError(f"{path} cannot be read ({exc.strerror}).") from None

    def _print(self, console: Console, report: IngestReport) -> None:
        console.print(
            f"Received {report.received:,} results: {report.imported:,} imported "
            f"({report.positives:,} positive, {report.negatives:,} negative), "
            f"{report.duplicates:,} already received, {report.rejected:,} rejected. "
            f"Cases opened: {report.cases_opened:,}; closed: {report.cases_closed:,}. "
            f"Import run {report.run_reference}.",
            soft_wrap=True,
        )

    def _write_errors(self, report: IngestReport, target: Path) -> None:
        run = ImportRun.objects.get(reference=report.run_reference)
        try:
            with target.open("w", encoding="utf-8", newline="") as handle:
                for line in error_report_lines(run):
                    handle.write(line)
        except OSError as exc:
            raise CommandError(
                f"The error report cannot be written to {target} ({exc.strerror}); "
                "download it from Supervise > Imported results instead."
            ) from None
