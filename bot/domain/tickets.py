"""Ticket references in the words of a change (pull request titles, bodies, branch names, commit messages): Jira-style
`ABC-123` (linked to `[integrations] jira_url`), the same shape for Linear (`linear_workspace`), and GitHub's `#123` /
`owner/repo#123`. Pure text in, references out; which tracker a key belongs to is the policy's to say."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.commits import web_base

# A project key (2-10 capitals or digits, starting with a capital) then a number; branch names write it lowercase.
_KEY = re.compile(r"(?<![A-Za-z0-9_-])([A-Z][A-Z0-9]{1,9})-([1-9]\d{0,6})(?![A-Za-z0-9_])")
_BRANCH_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]{1,9})-([1-9]\d{0,6})(?![0-9])")
_GITHUB = re.compile(r"(?<![\w/&#])(?:([A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}))?#(\d{1,7})\b")
# Words shaped like keys that are not tickets: encodings, digests, standards, versions.
NOT_KEYS = frozenset({"UTF", "SHA", "ISO", "RFC", "CVE", "HTTP", "TLS", "SSL", "MD", "AES", "RSA", "X", "V", "GPT"})
MAX_TICKETS = 200  # per release: more is a mass rename, not a list a person reads


@dataclass(frozen=True)
class Trackers:
    """Where keys lead: Jira's site, Linear's workspace (Jira wins when both are set), GitHub's web address."""

    jira_url: str | None = None
    linear_workspace: str | None = None
    github_web: str = "https://github.com"

    @classmethod
    def of(cls, jira_url: str | None, linear_workspace: str | None, api_url: str) -> "Trackers":
        return cls(jira_url.rstrip("/") if jira_url else None, linear_workspace, web_base(api_url))


@dataclass(frozen=True, order=True)
class Ticket:
    key: str  # "PAY-12", "#45" (in the release's repository), "acme/ledger#7"
    url: str
    tracker: str  # jira | linear | github


def keys_in(text: str, *, branch: bool = False) -> list[str]:
    """Issue keys (`ABC-123`), in order, once each; a branch name may write them lowercase (`fix/pay-12-retries`
    names PAY-12), prose may not (`re-2` is not a ticket)."""
    found: dict[str, None] = {}
    for match in (_BRANCH_KEY if branch else _KEY).finditer(text):
        project = match.group(1).upper()
        if project not in NOT_KEYS:
            found[f"{project}-{match.group(2)}"] = None
    return list(found)


def github_refs_in(text: str, repository: str) -> list[str]:
    """GitHub references: `#12` (in `repository`) and `owner/repo#12`, normalised to `owner/repo#12`."""
    found: dict[str, None] = {}
    for match in _GITHUB.finditer(text):
        found[f"{match.group(1) or repository}#{match.group(2)}"] = None
    return list(found)


def tickets_in(
    texts: Iterable[str],
    *,
    repository: str,
    trackers: Trackers,
    pulls: Iterable[int] = (),
    branches: Iterable[str] = (),
) -> list[Ticket]:
    """Every ticket the texts name, linked. A key counts only when a tracker is configured (otherwise `ABC-1` is as
    likely a part number as a ticket); `#N` naming one of the release's own pull requests is not a ticket."""
    own = {f"{repository}#{number}" for number in pulls}
    found: dict[str, Ticket] = {}
    if trackers.jira_url or trackers.linear_workspace:
        for branch in branches:
            for key in keys_in(branch, branch=True):
                found.setdefault(key, _tracked(key, trackers))
    for text in texts:
        if trackers.jira_url or trackers.linear_workspace:
            for key in keys_in(text):
                found.setdefault(key, _tracked(key, trackers))
        for ref in github_refs_in(text, repository):
            if ref in own:
                continue
            owner_repo, number = ref.split("#")
            key = f"#{number}" if owner_repo == repository else ref
            found.setdefault(key, Ticket(key, f"{trackers.github_web}/{owner_repo}/issues/{number}", "github"))
        if len(found) >= MAX_TICKETS:
            break
    return list(found.values())[:MAX_TICKETS]


def _tracked(key: str, trackers: Trackers) -> Ticket:
    if trackers.jira_url:
        return Ticket(key, f"{trackers.jira_url}/browse/{key}", "jira")
    return Ticket(key, f"https://linear.app/{trackers.linear_workspace}/issue/{key}", "linear")
