"""A release is its commit: what a commit id looks like, how it is shown, and the rule that it is recorded once.

Shipmate trusts a commit sha it recorded for a release (given when it was proposed, resolved from the release's
tag, or set once by a person, which restarts the approvals); anything another system sends (a CI report, a gate
check, a GitHub deployment) is a claim that must name that same commit.
"""

import re
from urllib.parse import urlsplit, urlunsplit

from bot.domain.errors import Conflict, ErrorCode, InvalidInput
from bot.domain.message import Code

SHA = re.compile(r"^[0-9a-f]{40}$")
SHORT = 7  # hex digits shown to people, as git and GitHub show them


def check_commit(text: str, *, field: str = "commit") -> str:
    """A full commit id (40 hex digits), lowercased; an abbreviation is ambiguous and cannot be compared."""
    sha = text.strip().lower()
    if not SHA.match(sha):
        raise InvalidInput(
            "{text} is not a full commit id; give all 40 hex digits (`git rev-parse HEAD` prints it).",
            field=field,
            text=Code(text, 48),
        )
    return sha


def short(sha: str) -> str:
    return sha[:SHORT]


class CommitMismatch(Conflict):
    """A claim names another commit than the one recorded for the release: refused, never recorded."""

    code = ErrorCode.COMMIT_MISMATCH

    def __init__(self, ref: str, recorded: str, claimed: str, *, who: str) -> None:
        self.ref = ref
        self.recorded = recorded
        self.claimed = claimed
        super().__init__(
            "{ref} is commit {recorded}, but {who} named {claimed}; a release's commit never changes. "
            "To ship other code, propose a new version (`/release propose <service> <version> --commit <sha> …`).",
            field="commit",
            ref=ref,
            recorded=Code(short(recorded)),
            claimed=Code(short(claimed)),
            who=who,
        )


def require_same(ref: str, recorded: str | None, claimed: str | None, *, who: str) -> None:
    """Refuse a claim that names another commit than the recorded one (no claim, or nothing recorded: nothing to
    compare)."""
    if recorded and claimed and recorded != claimed.lower():
        raise CommitMismatch(ref, recorded, claimed, who=who)


def web_base(api_url: str) -> str:
    """GitHub's web address for its REST API base: `https://api.github.com` → `https://github.com`, GitHub
    Enterprise Server's `https://HOST/api/v3` → `https://HOST`."""
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.netloc
    if host.lower() == "api.github.com":
        return "https://github.com"
    path = parts.path.removesuffix("/api/v3")
    return urlunsplit((parts.scheme, host, path, "", ""))


def commit_url(api_url: str, repository: str, sha: str) -> str:
    return f"{web_base(api_url)}/{repository}/commit/{sha}"
