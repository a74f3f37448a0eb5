"""`confide serve` as production runs it: gunicorn (gthread, a process per core plus one),
WhiteNoise's compressed, hashed and forever-cached static files, security headers through the
TLS proxy's X-Forwarded-Proto, JSON logs without paths or personal values, and Prometheus
metrics summed across gunicorn's processes."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.support import Server, confide, confide_environment
from tests.test_messaging_faults import _database_url_for_workers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HTTPS = {"X-Forwarded-Proto": "https"}
METRICS_TOKEN = secrets.token_urlsafe(24)
PERSONAL = ("alice.serve-test@example.org", "9434765919", "sekret-self-service-token")


def _readyz_count(base: str) -> float:
    response = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (
                sample.name == "confide_http_request_duration_seconds_count"
                and sample.labels.get("route") == "readyz"
            ):
                total += sample.value
    return total


@pytest.fixture
def production_server(tmp_path: Path, test_key_ring: Path) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = confide_environment(
        database_url=_database_url_for_workers(), key_ring=data_dir / "keyring.json",
        data_dir=data_dir,
    )  # fmt: skip
    env.pop("CONFIDE_LOG_FORMAT")  # production's own default: JSON
    env.pop("CONFIDE_WEB_WORKERS", None)
    env.update(
        CONFIDE_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="127.0.0.1",
        CONFIDE_METRICS_TOKEN=METRICS_TOKEN,
    )
    # A production key ring (demo keys are refused), made before production checks apply.
    confide("keys", "init", env={k: v for k, v in env.items() if k != "CONFIDE_ENV"})
    # What a deployment runs, less what the pages never load (GOV.UK Frontend's Nunjucks and
    # Sass sources, ES module copies, fixtures and READMEs, the API docs' bundle), to keep the
    # test short: a tenth of the files, half the time. Source maps stay: the manifest storage
    # follows the scripts' references to them.
    ignored = (
        *("*.njk", "*.yaml", "fixtures.json", "macro-options.json", "ninja"),
        *("*.scss", "*.mjs", "*.mjs.map", "*.md", "*.html"),
    )
    confide(
        "collectstatic", "--no-input", "-v", "0",
        *(option for pattern in ignored for option in ("-i", pattern)), env=env, timeout=900,
    )  # fmt: skip
    server = Server(env=env, log=tmp_path / "serve.log", extra=())
    yield server.start()
    server.stop()


def test_production_serving_headers_static_files_logs_and_metrics(
    production_server: Server,
) -> None:
    base = production_server.base

    # Behind the TLS proxy: security headers; without it, a redirect to https.
    home = requests.get(f"{base}/", headers=HTTPS, timeout=30)
    assert home.status_code == 200
    assert home.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "script-src 'self'" in home.headers["Content-Security-Policy"]
    assert "camera=()" in home.headers["Permissions-Policy"]
    plain = requests.get(f"{base}/", allow_redirects=False, timeout=30)
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")

    # Static files: hashed names, compressed, cached for ever.
    manifest = json.loads(
        (
            Path(production_server.env["CONFIDE_DATA_DIR"]) / "static" / "staticfiles.json"
        ).read_text()
    )
    hashed = manifest["paths"]["govuk/govuk-frontend.min.css"]
    assert hashed != "govuk/govuk-frontend.min.css"
    css = requests.get(
        f"{base}/static/{hashed}", headers={**HTTPS, "Accept-Encoding": "gzip, br"}, timeout=30
    )
    assert css.status_code == 200
    assert css.headers["Content-Encoding"] in {"gzip", "br"}
    assert "immutable" in css.headers["Cache-Control"]
    assert "max-age=315360000" in css.headers["Cache-Control"]

    # Personal values in a query string and a path reach the app but never its logs.
    requests.get(
        f"{base}/statistics/", params={"email": PERSONAL[0], "nhs": PERSONAL[1]},
        headers=HTTPS, timeout=30,
    )  # fmt: skip
    requests.get(f"{base}/self-service/{PERSONAL[2]}/", headers=HTTPS, timeout=30)

    # Metrics: every process's requests are counted, whichever process answers the scrape.
    before = _readyz_count(base)
    # (/readyz: nothing else calls it here, unlike /healthz, which the start-up polls.)
    for _ in range(12):
        assert requests.get(f"{base}/readyz", timeout=30).status_code in {200, 503}
    assert _readyz_count(base) - before == 12

    production_server.stop()
    lines = production_server.log_lines()
    logged = "\n".join(lines)
    assert [value for value in PERSONAL if value in logged] == []
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert all(line.startswith("{") for line in lines if not _before_gunicorn(line)), [
        line for line in lines if not line.startswith("{") and not _before_gunicorn(line)
    ][:5]
    access = [r for r in records if r.get("name") == "confide.access"]
    assert {"statistics:weekly", "unmatched", "static", "home"} <= {r["route"] for r in access}
    assert all(r["request_id"] != "-" for r in access)
    booted = [r for r in records if "Booting worker" in r.get("message", "")]
    assert len(booted) == len(os.sched_getaffinity(0)) + 1  # a process per core, plus one


def _before_gunicorn(line: str) -> bool:
    """What `confide serve` prints itself before it becomes gunicorn."""
    return line.startswith(("System check", "Confide is being served")) or not line.strip()
