"""Post-release review rules: who facilitates, which prompt a reply answers, the summary's grouping, and how many
action items may be open."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.errors import Conflict
from bot.domain.message import Mention
from bot.domain.policy import Policy

# Open action items a review may have, and one person may own in it: a list nobody can work through helps nobody.
MAX_OPEN_ACTION_ITEMS = 50
MAX_OPEN_PER_OWNER = 10

_NUMBERED = re.compile(r"^\s*(?:#|q)?(\d{1,2})\s*[.):\-](?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
_LABELLED = re.compile(r"^\s*([A-Za-z][A-Za-z' ]{1,60}?)\s*:\s*(.*)$", re.DOTALL)
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset({"what", "the", "a", "an", "we", "should", "could", "to", "did", "do", "next", "time", "of"})


def facilitator(policy: Policy, proposer_id: str) -> str:
    return policy.review.facilitator or proposer_id


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower().replace("n't", " not")) if word not in _STOP}


def _match_label(label: str, prompts: Sequence[str]) -> int | None:
    """A label like "went well" names the one prompt containing all its words; ambiguous labels name none."""
    wanted = _words(label)
    if not wanted:
        return None
    hits = [index for index, prompt in enumerate(prompts) if wanted <= _words(prompt)]
    return hits[0] if len(hits) == 1 else None


def classify(line: str, prompts: Sequence[str]) -> tuple[int | None, str]:
    """Which prompt a line answers ("1. …", "2) …", "went well: …") and the answer without its marker."""
    numbered = _NUMBERED.match(line)
    if numbered:
        number = int(numbered.group(1))
        if 1 <= number <= len(prompts):
            return number - 1, (numbered.group(2) or "").strip()
    labelled = _LABELLED.match(line)
    if labelled:
        index = _match_label(labelled.group(1), prompts)
        if index is not None:
            return index, labelled.group(2).strip()
    return None, line.strip()


def segments(text: str, prompts: Sequence[str]) -> list[tuple[int | None, str]]:
    """Split one reply into the parts answering each prompt: a line with a marker starts a new part."""
    parts: list[tuple[int | None, str]] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        index, rest = classify(raw, prompts)
        if index is not None or not parts:
            parts.append((index, rest))
        else:
            previous_index, previous = parts[-1]
            parts[-1] = (previous_index, f"{previous}\n{rest}".strip())
    return [(index, body) for index, body in parts if body]


@dataclass(frozen=True)
class Answer:
    user_id: str
    text: str


@dataclass
class Section:
    title: str
    answers: list[Answer] = field(default_factory=list)


def group_replies(replies: Sequence[tuple[str, str]], prompts: Sequence[str]) -> list[Section]:
    """(author, text) in thread order → one section per prompt, then "Other comments" for unmarked parts."""
    sections = [Section(prompt) for prompt in prompts]
    other = Section("Other comments")
    for user_id, text in replies:
        for index, body in segments(text, prompts):
            (sections[index] if index is not None else other).answers.append(Answer(user_id, body))
    return [*sections, other] if other.answers else sections


def check_room(ref: str, *, open_items: int, owner_id: str | None = None, owned: int = 0) -> None:
    """Refuse one more action item on `ref`'s review when it already has `open_items` open (`owned` of them by
    `owner_id`, when known) and that reaches a limit; the refusal says how to make room."""
    if open_items >= MAX_OPEN_ACTION_ITEMS:
        raise Conflict(
            "{ref} has {limit} open action items, the most a review may have: mark one done first "
            "(`/release action done <id>`).",
            ref=ref,
            limit=MAX_OPEN_ACTION_ITEMS,
        )
    if owner_id is not None and owned >= MAX_OPEN_PER_OWNER:
        raise Conflict(
            "{owner} owns {limit} open action items on {ref}, the most one person may: mark one done "
            "(`/release action done <id>`) or pick another owner.",
            field="owner",
            owner=Mention(owner_id),
            limit=MAX_OPEN_PER_OWNER,
            ref=ref,
        )
