"""Logging for `shipmate`: text lines (default) or one JSON object per line (`SHIPMATE_LOG_FORMAT=json`).

Each record carries what is known about the work in hand — `team`, `release`, `request_id`, `error_id`,
`slack_method` — from context variables set where the work starts (a Slack request, an outbox delivery). Nothing
a request sends can start a log line of its own: text lines escape line breaks and control characters, and the
access log leaves query strings out (the calendar feed's token travels in one).
"""

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse
from pythonjsonlogger.json import JsonFormatter

FIELDS = ("team", "release", "request_id", "error_id", "slack_method")
SLACK_CLIENT_LOGGERS = ("slack_sdk.web.async_base_client", "slack_sdk.webhook.async_client")
HANDLER = "shipmate"
_context: ContextVar[dict[str, str]] = ContextVar("shipmate_log_context", default={})  # noqa: B039 (never mutated)

# C0 control characters and DEL, written as escapes (tab stays a tab).
_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F] if code != 0x09}
_CONTROL.update({0x0A: "\\n", 0x0D: "\\r"})


_KNOWN = frozenset(FIELDS)


def _fields(values: dict[str, str | None]) -> dict[str, str]:
    if not values.keys() <= _KNOWN:
        raise ValueError(f"unknown log context fields {sorted(values.keys() - _KNOWN)}; known: {FIELDS}")
    return {key: value if type(value) is str else str(value) for key, value in values.items() if value}


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Add fields to every record logged inside the block (and in tasks started from it)."""
    token = _context.set({**_context.get(), **_fields(values)})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**values: str | None) -> None:
    """Add fields for the rest of the current task (a listener runs in a task of its own)."""
    _context.set({**_context.get(), **_fields(values)})


class ContextFilter(logging.Filter):
    """Copies the context fields onto each record (an explicit `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def escape(text: str) -> str:
    return text.translate(_CONTROL)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [team=… request_id=…]`, one line per record; a traceback follows indented."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._second, self._stamp = -1, ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """As logging's own (`2026-05-04 09:12:31,417`), the seconds formatted once per second (every request
        writes an access line)."""
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._second, self._stamp = second, time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
        return f"{self._stamp},{int(record.msecs):03d}"

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        known = [f"{key}={escape(str(getattr(record, key)))}" for key in FIELDS if getattr(record, key, None)]
        return super().formatMessage(record) + (f" [{' '.join(known)}]" if known else "")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\n    ")


class _TimeFirst(JsonFormatter):
    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        log_data["time"] = None  # the key comes first (people read left to right); the formatter fills it in
        super().add_fields(log_data, record, message_dict)


def json_formatter() -> logging.Formatter:
    """`{"time", "level", "logger", "message", "exc_info" when there is one, …context fields}` per line."""
    return _TimeFirst(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Our handler on the root logger, on stderr, in `fmt` (replacing the one an earlier call added); libraries'
    routine chatter only when something is wrong."""
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.set_name(HANDLER)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # Python warnings become records too (one JSON object per line holds)
    sys.excepthook = _log_uncaught  # and so does a crash
    for name in ("apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # slack_sdk's clients build their debug lines (the whole request and answer, as text) whenever their logger's
    # own level is DEBUG or unset, before asking whether DEBUG is on: with the level set, only when it is.
    for name in SLACK_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(level)
    # Bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins: it is the same token.
    logging.getLogger("shipmate.bolt").addFilter(lambda record: "`token` will be unused" not in record.getMessage())


def _log_uncaught(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    logging.getLogger("shipmate").critical("stopped by %s", kind.__name__, exc_info=(kind, error, trace))


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log without query strings: `GET /calendar.ics?token=…` must not write the token down."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = request.rel_url.raw_path  # still percent-encoded: no line breaks, no query
        fields: dict[str, Any] = {
            "http_method": request.method,
            "path": path,
            "status": response.status,
            "duration": round(time, 6),
        }
        self.logger.info(
            '%s "%s %s" %s %.3fs', request.remote, request.method, path, response.status, time, extra=fields
        )
