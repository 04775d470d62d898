"""What `shipmate doctor` prints: one line per check, `ok`, `warn`, `FAIL` or `skip`; any FAIL means exit 1."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "FAIL", "skip"]


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str

    @property
    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


class Report:
    def __init__(self, emit: Callable[[Check], None]) -> None:
        self.emit = emit
        self.checks: list[Check] = []

    def add(self, status: Status, name: str, detail: str) -> None:
        check = Check(status, name, detail)
        self.checks.append(check)
        self.emit(check)

    def ok(self, name: str, detail: str) -> None:
        self.add("ok", name, detail)

    def warn(self, name: str, detail: str) -> None:
        self.add("warn", name, detail)

    def fail(self, name: str, detail: str) -> None:
        self.add("FAIL", name, detail)

    def skip(self, name: str, detail: str) -> None:
        self.add("skip", name, detail)

    @property
    def passed(self) -> bool:
        return all(check.status != "FAIL" for check in self.checks)
