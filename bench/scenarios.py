"""What the load generators send: Slack request bodies per scenario, as Slack would post them. Each body names the
response_url its late answer goes to; `Request.key` is what the writes' checks match answers and rows by."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from bench.seed import HOME_USERS, SERVICES
from bench.slack_side import command, home_opened

READS = ("list", "show", "list service", "history")
APPROVERS = ("U0BOB", "U0CAROL")  # the bench policy's prod approvers (2 approvals needed)


@dataclass(frozen=True)
class Request:
    kind: str  # list, show, history, list service, propose, approve, home
    body: bytes
    key: str = ""  # propose/approve: the ref (and approver) the answer and the database rows are checked by
    reply: str = ""  # the last segment of its response_url, where a late answer arrives


def read_text(kind: str, i: int) -> str:
    """A read of the refs both datasets hold (release i is svc{i % 50}@1.{i // 50}.0)."""
    n = i % 200
    ref = f"svc{n % SERVICES}@1.{n // SERVICES}.0"
    texts = {
        "list": "list",
        "list service": f"list svc{i % SERVICES}",
        "show": f"show {ref}",
        "history": f"history {ref}",
    }
    return texts[kind]


def ask(kind: str, text: str, respond_to: str, reply: str, key: str = "", user: str = "U0BENCH") -> Request:
    return Request(kind, command(text, f"{respond_to}/{reply}", user=user), key, reply)


def reads(kind: str, respond_to: str, count: int = 400) -> list[Request]:
    return [ask(kind, read_text(kind, i), respond_to, f"{kind.replace(' ', '-')}{i}") for i in range(count)]


def proposals(prefix: str, respond_to: str, count: int) -> list[Request]:
    """Unique new releases: `<prefix><n % 50>@2.<n>.0`."""
    out = []
    for n in range(count):
        ref = f"{prefix}{n % SERVICES}@2.{n}.0"
        service, version = ref.split("@")
        out.append(ask("propose", f"propose {service} {version} Benchmark write", respond_to, f"{prefix}p{n}", ref))
    return out


def approvals(refs: list[str], respond_to: str) -> list[Request]:
    """Each ref approved by both approvers in turn: every second approval meets the quorum (a status change)."""
    out = []
    for n, (ref, user) in enumerate(itertools.product(refs, APPROVERS)):
        out.append(ask("approve", f"approve {ref}", respond_to, f"a{n}-{ref}", f"{ref} {user}", user=user))
    return out


def deliveries(per_request: float, respond_to: str, count: int = 400) -> list[Request]:
    """The reference asked to send Slack messages after its ack, `per_request` of them on average (`_spread`)."""
    return [ask("deliver", f"deliver {n}", respond_to, f"d{i}") for i, n in enumerate(_spread(per_request, count))]


def floors(kind: str, per_request: float, respond_to: str, count: int = 400) -> list[Request]:
    """The reference asked to run the floor of a `kind` write (approve, propose) before its ack and to send Slack
    messages after it, `per_request` of them on average (as `deliveries`)."""
    return [ask("floor", f"floor {kind} {n}", respond_to, f"f{i}") for i, n in enumerate(_spread(per_request, count))]


def _spread(per_request: float, count: int) -> list[int]:
    """Whole numbers averaging `per_request`, spread evenly: 1.5 is 1, 2, 1, 2, …"""
    return [int((i + 1) * per_request) - int(i * per_request) for i in range(count)]


def homes(count: int = 2000) -> list[Request]:
    return [Request("home", home_opened(HOME_USERS[i % len(HOME_USERS)], f"EvB{i}")) for i in range(count)]


def mixed(prefix: str, approve_refs: list[str], respond_to: str, count: int) -> Iterator[Request]:
    """Reads and writes, 8 to 2 (list, list service, show, history; propose, approve), in a fixed order."""
    new = iter(proposals(prefix, respond_to, count))
    approve = iter(approvals(approve_refs, respond_to))
    pattern = ("list", "show", "propose", "list service", "history", "show", "approve", "list", "show", "history")
    for i in range(count):
        kind = pattern[i % len(pattern)]
        if kind == "propose":
            yield next(new)
        elif kind == "approve":
            yield next(approve)
        else:
            yield ask(kind, read_text(kind, i), respond_to, f"{prefix}m{i}")
