"""Approval commands: approve, reject and withdraw."""

from dataclasses import dataclass

from bot.domain.grammar.arguments import ref_and_text, ref_only
from bot.domain.grammar.registry import Command, verb
from bot.domain.validation import ReleaseRef


@dataclass(frozen=True)
class Approve(Command):
    ref: ReleaseRef
    comment: str = ""


@dataclass(frozen=True)
class Reject(Command):
    ref: ReleaseRef
    reason: str


@dataclass(frozen=True)
class Withdraw(Command):
    ref: ReleaseRef


@verb("approve", "approve <service@version> [comment…]", examples=("approve payments@2.4.0",))
def _approve(rest: str) -> Command:
    ref, comment = ref_and_text(rest, required=None)
    return Approve(ref, comment)


@verb("reject", "reject <service@version> <reason…>", examples=("reject payments@2.4.0 no tests",))
def _reject(rest: str) -> Command:
    ref, reason = ref_and_text(rest, required="the reason: the proposer needs to know what to fix")
    return Reject(ref, reason)


@verb("withdraw", "withdraw <service@version>", examples=("withdraw payments@2.4.0",))
def _withdraw(rest: str) -> Command:
    return Withdraw(ref_only(rest))
