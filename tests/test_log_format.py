"""The two log formats, record by record: one line each, control characters escaped, context fields attached."""

import json
import logging
import sys

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import logs


def record(message: str, *args: object, exc: BaseException | None = None, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("shipmate.test", logging.WARNING, __file__, 1, message, args, None)
    if exc is not None:
        made.exc_info = (type(exc), exc, exc.__traceback__)
    for key, value in extra.items():
        setattr(made, key, value)
    logs.ContextFilter().filter(made)
    return made


def raised() -> BaseException:
    try:
        raise ValueError("bad\nvalue")
    except ValueError as exc:
        return exc


def test_text_lines_escape_what_a_request_could_forge() -> None:
    with logs.bound(team="T0\nX", request_id="abc"):
        line = logs.TextFormatter().format(record("user said %s", "hi\n2030-01-01 ERROR forged\r\x1b[2J"))
    assert "\n" not in line
    assert line.endswith(r"user said hi\n2030-01-01 ERROR forged\r\x1b[2J [team=T0\nX request_id=abc]")


def test_a_traceback_follows_its_record_indented() -> None:
    text = logs.TextFormatter().format(record("failed", exc=raised()))
    first, *rest = text.splitlines()
    assert first.endswith("failed")
    assert rest
    assert all(line.startswith("    ") for line in rest)


def test_json_is_one_object_per_line_time_first_with_context_and_error_id() -> None:
    with logs.bound(team="T0TEAM", release="payments@2.4.0"):
        line = logs.json_formatter().format(record("boom %s", "x\ny", exc=raised(), error_id="5e0c2a91"))
    assert "\n" not in line
    parsed = json.loads(line)
    assert list(parsed)[:4] == ["time", "level", "logger", "message"]
    assert parsed["message"] == "boom x\ny"
    assert (parsed["team"], parsed["release"], parsed["error_id"]) == ("T0TEAM", "payments@2.4.0", "5e0c2a91")
    assert "ValueError: bad" in parsed["exc_info"]
    assert parsed["time"].endswith("+00:00")


def test_context_ends_with_its_block_and_unknown_fields_are_refused() -> None:
    with logs.bound(team="T0TEAM"):
        assert getattr(record("inside"), "team", None) == "T0TEAM"
    assert getattr(record("outside"), "team", None) is None
    with pytest.raises(ValueError, match="unknown log context fields"), logs.bound(user="U0X"):
        pass


def test_slack_clients_build_their_debug_lines_only_when_debug_is_on() -> None:
    """slack_sdk formats a Web API call's whole request and answer for its debug lines unless its logger's own
    level is above DEBUG: configured at INFO, the clients' loggers say so; at DEBUG, their lines are logged."""
    root, hook = logging.getLogger(), sys.excepthook
    saved = (root.level, [logging.getLogger(name).level for name in logs.SLACK_CLIENT_LOGGERS])
    try:
        used = {AsyncWebClient().logger.name, AsyncWebhookClient("https://hooks.slack.com/services/T/B/X").logger.name}
        assert used == set(logs.SLACK_CLIENT_LOGGERS)  # the loggers slack_sdk's clients use, by name
        logs.configure(level=logging.INFO)
        assert [logging.getLogger(name).level for name in used] == [logging.INFO] * len(used)
        logs.configure(level=logging.DEBUG)
        assert all(logging.getLogger(name).isEnabledFor(logging.DEBUG) for name in used)
    finally:
        for handler in [h for h in root.handlers if h.get_name() == logs.HANDLER]:
            root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in zip(logs.SLACK_CLIENT_LOGGERS, saved[1], strict=True):
            logging.getLogger(name).setLevel(level)
        logging.captureWarnings(False)
        sys.excepthook = hook
