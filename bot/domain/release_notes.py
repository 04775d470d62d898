"""What a release changes, computed from the code: the commits between what is live in the release's target
environment and the release's commit (GitHub's compare), the pull requests they belong to, the tickets they name.
Values, the pull requests a commit's message names (no call needed), the summary line, the card's lines, and the
full notes grouped as features / fixes / other. Pure: GitHub's answers come in as these values."""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.domain.commits import short
from bot.domain.message import Code, Link, Message, Strong
from bot.domain.tickets import Ticket

SHOWN_PULLS = 5  # pull requests listed on the card
MERGE_LINE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
SQUASH_SUFFIX = re.compile(r"\(#(\d+)\)\s*$")
CONVENTIONAL = re.compile(r"^(\w+)(?:\([^)]*\))?!?:\s*")
FEATURE_WORDS = {"feat", "feature"}
FIX_WORDS = {"fix", "bugfix", "hotfix"}
FEATURE_LABELS = {"feature", "enhancement", "feat"}
FIX_LABELS = {"bug", "fix", "bugfix"}


class Standing(StrEnum):
    """How the release's commit stands against what is live (GitHub's compare `status`, and our own cases)."""

    AHEAD = "ahead"  # the usual case: new commits on top of what is live
    IDENTICAL = "identical"  # the same code
    BEHIND = "behind"  # older than what is live: a rollback to an older version
    DIVERGED = "diverged"  # not descended from what is live: a force push, or another branch
    FIRST = "first"  # nothing with a known commit is live there yet


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str
    author: str
    url: str = ""
    parents: tuple[str, ...] = ()  # first parent first (a merge commit's second parent is the merged branch)

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0].strip()


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    author: str
    url: str
    body: str = ""
    branch: str = ""
    labels: tuple[str, ...] = ()
    merge_commit_sha: str | None = None  # the commit that merged it (merge, squash or last rebased): what proves it


@dataclass(frozen=True)
class Comparison:
    """GitHub's compare of base...head, every page read."""

    status: Standing
    ahead_by: int
    behind_by: int
    total_commits: int
    commits: tuple[CommitInfo, ...]
    html_url: str
    pages: int = 1  # GitHub calls it took


@dataclass(frozen=True)
class Notes:
    """A release's notes as stored: against which base, how it stands, what is in it."""

    base_sha: str | None
    head_sha: str
    standing: Standing
    total_commits: int
    compare_url: str
    commits: tuple[CommitInfo, ...] = ()
    pulls: tuple[PullInfo, ...] = ()
    tickets: tuple[Ticket, ...] = ()
    behind_by: int = 0
    base_ref: str = ""  # the version live there, when known ("payments@2.3.0")
    pull_count: int = -1  # in a brief: how many pull requests the whole notes have (-1: count `pulls`)
    ticket_count: int = -1

    @property
    def pulls_total(self) -> int:
        return self.pull_count if self.pull_count >= 0 else len(self.pulls)

    @property
    def tickets_total(self) -> int:
        return self.ticket_count if self.ticket_count >= 0 else len(self.tickets)

    def brief(self) -> "Notes":
        """What the card, the summary line and the pipeline need: the counts and the first pull requests (kept
        beside the full notes, so a card never reads a thousand commits)."""
        return replace(
            self,
            commits=(),
            pulls=tuple(replace(pull, body="") for pull in self.pulls[:SHOWN_PULLS]),
            tickets=(),
            pull_count=self.pulls_total,
            ticket_count=self.tickets_total,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Notes":
        return cls(
            base_sha=data.get("base_sha"),
            head_sha=str(data.get("head_sha", "")),
            standing=Standing(data.get("standing", Standing.AHEAD)),
            total_commits=int(data.get("total_commits", 0)),
            compare_url=str(data.get("compare_url", "")),
            commits=tuple(
                CommitInfo(**{**item, "parents": tuple(item.get("parents", ()))}) for item in data.get("commits", ())
            ),
            pulls=tuple(
                PullInfo(**{**item, "labels": tuple(item.get("labels", ()))}) for item in data.get("pulls", ())
            ),
            tickets=tuple(Ticket(**item) for item in data.get("tickets", ())),
            behind_by=int(data.get("behind_by", 0)),
            base_ref=str(data.get("base_ref", "")),
            pull_count=int(data.get("pull_count", -1)),
            ticket_count=int(data.get("ticket_count", -1)),
        )


def pull_named_by(message: str) -> int | None:
    """The pull request a commit's message names: GitHub's merge commit ("Merge pull request #12 from …") or a
    squash merge's title ("Faster ledger (#12)"). None for a plain commit."""
    title = message.split("\n", 1)[0]
    match = MERGE_LINE.match(title) or SQUASH_SUFFIX.search(title)
    return int(match.group(1)) if match else None


def pull_from_message(commit: CommitInfo, url: str) -> PullInfo | None:
    """A pull request as its merge or squash commit describes it (no call: no labels or body beyond the message)."""
    number = pull_named_by(commit.message)
    if number is None:
        return None
    lines = [line.strip() for line in commit.message.split("\n")]
    merged = MERGE_LINE.match(lines[0])
    if merged:
        title = next((line for line in lines[1:] if line), merged.group(2))
        branch = merged.group(2).split("/", 1)[-1]
        return PullInfo(number, title, commit.author, url, "\n".join(lines[1:]), branch)
    title = SQUASH_SUFFIX.sub("", lines[0]).strip()
    return PullInfo(number, title, commit.author, url, "\n".join(lines[1:]))


def pulls_to_look_up(commits: Sequence[CommitInfo]) -> tuple[list[int], list[str]]:
    """Which calls find the pull requests at least cost: the numbers the messages name (one call each); when no
    message names one (a rebase-merging repository), the commits themselves (`commits/{sha}/pulls`)."""
    numbers = list(dict.fromkeys(n for n in (pull_named_by(c.message) for c in commits) if n is not None))
    return (numbers, []) if numbers else ([], [commit.sha for commit in commits])


def kind_of(title: str, labels: Iterable[str] = ()) -> str:
    """feature, fix or other: by label first, then by the conventional-commit prefix (`feat:`, `fix(api):`)."""
    lowered = {label.lower() for label in labels}
    if lowered & FEATURE_LABELS:
        return "feature"
    if lowered & FIX_LABELS:
        return "fix"
    match = CONVENTIONAL.match(title.strip())
    word = match.group(1).lower() if match else ""
    return "feature" if word in FEATURE_WORDS else "fix" if word in FIX_WORDS else "other"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def counts(notes: Notes) -> str:
    """ "14 commits, 6 pull requests, 3 tickets"."""
    return ", ".join(
        (
            _plural(notes.total_commits, "commit"),
            _plural(notes.pulls_total, "pull request"),
            _plural(notes.tickets_total, "ticket"),
        )
    )


def summary(notes: Notes) -> Message:
    """The one line: what is in it, or plainly why there is nothing to list."""
    if notes.standing is Standing.IDENTICAL:
        return Message("What's in it: no changes; this is the code already live ({base}).", base=_base(notes))
    if notes.standing is Standing.BEHIND:
        return Message(
            "What's in it: nothing new; this commit is {n} behind what is live ({base}): a rollback to older code.",
            n=_plural(notes.behind_by, "commit"),
            base=_base(notes),
        )
    if notes.standing is Standing.DIVERGED:
        return Message(
            "What's in it: {counts}; but what is live ({base}) is not an ancestor of this commit "
            "(a force push, or another branch): {behind} live would be dropped.",
            counts=counts(notes),
            base=_base(notes),
            behind=_plural(notes.behind_by, "commit"),
        )
    if notes.standing is Standing.FIRST:
        return Message("What's in it: nothing with a known commit is live there yet, so there is nothing to compare.")
    return Message("What's in it: {counts}", counts=counts(notes))


def _base(notes: Notes) -> Code | str:
    return notes.base_ref or (Code(short(notes.base_sha)) if notes.base_sha else "nothing")


def too_many(notes: Notes, max_commits: int | None, environment: str) -> Message | None:
    """The warning when a release carries more commits than its target environment takes comfortably."""
    if max_commits is None or notes.total_commits <= max_commits:
        return None
    return Message(
        "⚠️ {n} is over {env}'s limit of {limit}: consider shipping it in smaller steps.",
        n=Strong(_plural(notes.total_commits, "commit")),
        env=environment,
        limit=max_commits,
    )


def pull_line(pull: PullInfo) -> Message:
    return Message(
        "• {title} by {author}", title=Link(pull.url, f"#{pull.number} {_cut(pull.title, 120)}"), author=pull.author
    )


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_lines(notes: Notes, *, max_commits: int | None, environment: str) -> list[Message]:
    """The card's part: the summary, up to five pull requests, the warning, the compare link."""
    lines: list[Message] = [summary(notes)]
    if notes.standing in (Standing.AHEAD, Standing.DIVERGED):
        lines += [pull_line(pull) for pull in notes.pulls[:SHOWN_PULLS]]
        if notes.pulls_total > SHOWN_PULLS:
            more = notes.pulls_total - SHOWN_PULLS
            lines.append(Message("…and {n} more (`/release notes` lists them all)", n=more))
    warning = too_many(notes, max_commits, environment)
    if warning is not None:
        lines.append(warning)
    if notes.compare_url and notes.standing is not Standing.FIRST:
        lines.append(Message("{link} on GitHub", link=Link(notes.compare_url, "Compare")))
    return lines


@dataclass
class Grouped:
    features: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def add(self, kind: str, line: str) -> None:
        (self.features if kind == "feature" else self.fixes if kind == "fix" else self.other).append(line)


def mainline(notes: Notes) -> set[str] | None:
    """The commits on the head's first-parent line within the comparison: what landed on the branch itself (a
    merge commit, a squash, a direct push); the others came in with a merged branch. None without parents."""
    by_sha = {commit.sha: commit for commit in notes.commits}
    if not by_sha or not any(commit.parents for commit in notes.commits):
        return None
    line: set[str] = set()
    sha: str | None = notes.head_sha
    while sha in by_sha and sha not in line:
        line.add(sha)
        parents = by_sha[sha].parents
        sha = parents[0] if parents else None
    return line


def grouped(notes: Notes) -> Grouped:
    """Pull requests, then the commits no pull request accounts for, by kind: a merge commit is its pull request,
    and a commit that came in with a merged branch is part of it."""
    groups = Grouped()
    numbers = {pull.number for pull in notes.pulls}
    for pull in notes.pulls:
        groups.add(kind_of(pull.title, pull.labels), f"{pull.title} (#{pull.number}, @{pull.author})")
    landed = mainline(notes)
    for commit in notes.commits:
        if pull_named_by(commit.message) in numbers or commit.title.startswith("Merge "):
            continue  # its pull request is listed; a merge commit has no content of its own
        if landed is not None and commit.sha not in landed and numbers:
            continue  # it came in with a merged pull request
        groups.add(kind_of(commit.title), f"{commit.title} ({short(commit.sha)}, {commit.author})")
    return groups


def markdown(ref: str, notes: Notes, typed_changes: str = "") -> str:
    """The full notes as Markdown a changelog takes as it is: typed changes first, then the computed ones."""
    out = [f"## {ref}", ""]
    if typed_changes.strip():
        out += ["### Changes (as proposed)", typed_changes.strip(), ""]
    out += [summary(notes).plain(), ""]
    groups = grouped(notes)
    for title, lines in (("Features", groups.features), ("Fixes", groups.fixes), ("Other", groups.other)):
        if lines:
            out += [f"### {title}", *(f"- {line}" for line in lines), ""]
    authors = sorted({c.author for c in notes.commits} | {p.author for p in notes.pulls})
    if authors:
        out += ["### Authors", ", ".join(authors), ""]
    if notes.tickets:
        out += ["### Tickets", *(f"- [{t.key}]({t.url})" for t in notes.tickets), ""]
    if notes.compare_url:
        out.append(f"Compare: {notes.compare_url}")
    return "\n".join(out).strip() + "\n"


def room(text: str) -> int:
    """The room `text` takes once shown: `&`, `<` and `>` travel escaped (`&amp;` is five characters)."""
    return len(text) + 4 * sum(text.count(c) for c in "&<>")


def _fit(line: str, limit: int) -> str:
    """A line longer than a piece, cut to fit with an ellipsis."""
    if room(line) <= limit:
        return line
    kept, size = [], 0
    for char in line:
        size += room(char)
        if size > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def chunks(text: str, *, limit: int = 2800, most: int = 12) -> tuple[list[str], int]:
    """`text` in pieces that take at most `limit` characters once shown, cut between lines (a Slack section holds
    3,000), at most `most` of them; and how many lines did not fit."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    lines = text.splitlines()
    for index, line in enumerate(lines):
        line = _fit(line, limit)
        if current and size + room(line) + 1 > limit:
            pieces.append("\n".join(current))
            current, size = [], 0
            if len(pieces) == most:
                return pieces, len(lines) - index
        current.append(line)
        size += room(line) + 1
    if current:
        pieces.append("\n".join(current))
    return pieces, 0


def for_pipeline(notes: Notes) -> dict[str, object]:
    """What the gate API answers about the release's contents, so the pipeline's log says what it let through."""
    return {
        "summary": summary(notes).plain(),
        "standing": notes.standing.value,
        "commits": notes.total_commits,
        "pull_requests": notes.pulls_total,
        "tickets": notes.tickets_total,
        "compare_url": notes.compare_url or None,
        "base": notes.base_sha,
    }


def for_github(notes: Notes) -> str:
    """The same for a GitHub protection rule's comment: counts and the link, never a title someone wrote."""
    if notes.standing in (Standing.AHEAD, Standing.DIVERGED):
        text = f"It carries {notes.total_commits} commit(s) and {notes.pulls_total} pull request(s)"
        return text + (f": {notes.compare_url}" if notes.compare_url else ".")
    return summary(notes).plain()
