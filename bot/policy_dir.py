"""Policies per workspace from `SHIPMATE_POLICY_DIR`: `<team_id>.toml`, `<enterprise_id>.toml` (an org-wide
install) and `default.toml` (every other workspace; the built-in defaults when it is absent). Every file is read
and validated at start and on SIGHUP; one bad file keeps the policies in force and says which file and why.

`Policies` is what the process holds: the book in force, which enterprise each workspace belongs to (for
`<enterprise_id>.toml`), and the reload."""

import logging
from pathlib import Path

from bot.domain.policy import Policy, PolicyError
from bot.domain.policy_book import PolicyBook, book
from bot.policy_source import read_file, resolve
from bot.settings import Settings

log = logging.getLogger(__name__)


def read_dir(path: Path) -> PolicyBook:
    if not path.is_dir():
        raise PolicyError(f"SHIPMATE_POLICY_DIR={path}: not a folder")
    files = sorted(path.glob("*.toml"))
    return book({file.stem: read_file(file) for file in files}, origin=f"{path} (SHIPMATE_POLICY_DIR)")


def load(settings: Settings) -> PolicyBook:
    """The policies for these settings: the folder's, else the one policy (SHIPMATE_POLICY_TOML, …) for all."""
    if settings.shipmate_policy_dir is not None:
        return read_dir(settings.shipmate_policy_dir)
    source = resolve(settings)
    return PolicyBook(source.policy, {}, source.origin + (f" ({source.note})" if source.note else ""))


class Policies:
    def __init__(self, current: PolicyBook, settings: Settings | None = None) -> None:
        self.book = current
        self.settings = settings
        self.enterprises: dict[str, str] = {}  # team id → enterprise id, as Slack's requests said

    @property
    def default(self) -> Policy:
        return self.book.default

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> Policy:
        if team_id and enterprise_id:
            self.enterprises[team_id] = enterprise_id
        enterprise = enterprise_id or (self.enterprises.get(team_id) if team_id else None)
        return self.book.for_team(team_id, enterprise)

    def reload(self) -> bool:
        """SIGHUP: read the policies again; a bad file keeps those in force (logged with the file and the key)."""
        if self.settings is None:
            return False
        try:
            fresh = load(self.settings)
        except PolicyError as exc:
            log.error("policy reload refused, the policies in force stay: %s", exc)
            return False
        self.book = fresh
        log.info("policies reloaded from %s (%s workspace file(s))", fresh.origin, len(fresh.owners))
        return True
