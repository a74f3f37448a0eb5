"""Structured logs: one JSON object a line, each with the request id it belongs to."""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from confide.observability.context import REQUEST_ID

JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class WithoutRequestPath(logging.Filter):
    """Django's request logger writes "Not Found: /self-service/<token>/": keep the words,
    drop the path (our access line names the route; the request id links the two)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = message.split(": /", 1)[0]
        record.args = ()
        return True


# Objects Django passes in `extra` whose text holds the path, headers or a socket address.
UNLOGGED_EXTRAS = frozenset({"request", "server_time", "scope"})


class JsonFormatter(_JsonFormatter):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("fmt", JSON_FIELDS)
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level"})
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in UNLOGGED_EXTRAS:
            log_data.pop(name, None)
