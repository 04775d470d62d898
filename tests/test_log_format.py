"""The two log formats, record by record: one line each, control characters escaped, context fields attached."""

import json
import logging

import pytest

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
