"""Every error names itself for machines: each `DomainError` class, wherever it is defined, has a code from the one
`ErrorCode` enum and an HTTP status; every code is one some answer can carry, and README lists each with its status."""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import bot
import handlers
from bot.domain.errors import DomainError, ErrorCode, GateBlocked, NotFound, Refusal
from bot.domain.message import Message

README = Path(__file__).resolve().parents[2] / "README.md"
# Answered by aiohttp's own HTTP errors (bodies read before any handler) or by the middleware for a failure of ours.
NOT_A_CLASS = {ErrorCode.BODY_TOO_LARGE, ErrorCode.BODY_TIMEOUT, ErrorCode.BODY_INCOMPLETE, ErrorCode.INTERNAL_ERROR}


def _every_error_class() -> list[type[DomainError]]:
    for package in (bot, handlers):
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            if not module.name.endswith("__main__"):  # runs the command line
                importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


CLASSES = _every_error_class()


def _readme_codes() -> dict[str, int]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("<!-- error codes") : text.index("<!-- /error codes -->")]
    return {code: int(status) for code, status in re.findall(r"^\| `(\w+)` \| (\d{3}) \|", table, re.MULTILINE)}


def test_the_walk_finds_errors_beyond_the_domain() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"GateBlocked", "CommitMismatch", "TooManyWaiting", "BadSignature", "Revoked"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_error_class_has_a_code_of_the_enum_and_a_status(cls: type[DomainError]) -> None:
    assert isinstance(cls.code, ErrorCode), f"{cls.__name__}.code is {cls.code!r}, not a member of ErrorCode"
    assert isinstance(cls.http_status, int)
    assert 400 <= cls.http_status <= 599, f"{cls.__name__}.http_status is {cls.http_status}"


def test_every_code_is_one_an_answer_can_carry() -> None:
    unused = set(ErrorCode) - {cls.code for cls in CLASSES} - NOT_A_CLASS
    assert not unused, f"no error class or answer carries {sorted(unused)}"


def test_readme_lists_every_code_with_its_status() -> None:
    listed = _readme_codes()
    assert set(listed) == {code.value for code in ErrorCode}
    wrong = {
        f"{cls.__name__}: {cls.code} is {cls.http_status}, README says {listed[cls.code]}"
        for cls in CLASSES
        if listed[cls.code] != cls.http_status
    }
    assert not wrong, sorted(wrong)


def test_the_statuses_the_kinds_of_refusal_answer_with() -> None:
    by_name = {cls.__name__: cls for cls in CLASSES}
    statuses = {name: by_name[name].http_status for name in ("InvalidInput", "NotFound", "NotAllowed", "Busy")}
    assert statuses == {"InvalidInput": 422, "NotFound": 404, "NotAllowed": 403, "Busy": 503}
    for name in ("InvalidTransition", "Conflict", "GateBlocked", "CommitMismatch", "RequestMismatch"):
        assert by_name[name].http_status == 409, name


def test_data_is_what_a_machine_reads_beside_the_words() -> None:
    blocked = GateBlocked("payments@2.4.0", "prod", [Refusal("freeze", Message("prod is frozen until {t}.", t="5pm"))])
    assert blocked.data() == {"reasons": ["prod is frozen until 5pm."]}
    assert NotFound("There is no release {ref}.", ref="x@1", field="version").data() == {"field": "version"}
    assert NotFound("No calendar link given.").data() == {}
