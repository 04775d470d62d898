"""What a person proposes: a release's identity and its scope, checked before anything is stored."""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.domain import validation
from bot.domain.commits import check_commit
from bot.domain.errors import InvalidInput


@dataclass(frozen=True)
class ProposeRequest:
    service: str
    version: str
    summary: str
    changes: str = ""
    risk: str | None = None  # None: medium, or a standard change's `max_risk`
    rollback_plan: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None
    commit_sha: str | None = None  # the code this release is; None: resolved from its tag, or set later
    change_class: str = "normal"  # normal | standard | emergency (bot/domain/change_classes.py)
    standard_name: str | None = None  # the standard change template it names
    incident_url: str | None = None  # an emergency change's incident

    def validated(self) -> "ProposeRequest":
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            raise InvalidInput("The window must end after it starts.", field="window")
        return ProposeRequest(
            service=validation.check_service(self.service.strip()),
            version=validation.check_version(self.version.strip()),
            summary=validation.check_text(self.summary, label="summary", limit=validation.MAX_SUMMARY, field="summary"),
            changes=validation.check_text(
                self.changes, label="list of changes", limit=validation.MAX_CHANGES, required=False, field="changes"
            ),
            risk=validation.check_risk(self.risk or "medium"),
            rollback_plan=validation.check_text(
                self.rollback_plan,
                label="rollback plan",
                limit=validation.MAX_ROLLBACK_PLAN,
                required=False,
                field="rollback_plan",
            ),
            window_start=self.window_start,
            window_end=self.window_end,
            commit_sha=check_commit(self.commit_sha) if self.commit_sha and self.commit_sha.strip() else None,
            change_class=self.change_class,
            standard_name=self.standard_name,
            incident_url=validation.check_incident(self.incident_url) if self.incident_url else None,
        )

    def columns(self) -> dict[str, Any]:
        """The release's columns this proposal fills, by name (its fields hold plain values: nothing to copy deep,
        as `asdict` would)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
