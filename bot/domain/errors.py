"""Errors a person can understand. They carry data (the field at fault, the refusing gates) and a `Message` that
names the fix; each edge renders them: Slack as ephemeral mrkdwn, a modal under the field, a webhook as JSON."""

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.message import Message, Value


class DomainError(Exception):
    """Base for every refusal that is the person's to fix, not a bug. `code` names it for machines (webhook and
    API answers); the words are for people."""

    code = "refused"

    def __init__(self, message: Message | str, /, *, field: str | None = None, **values: Value) -> None:
        self.text = message if isinstance(message, Message) else Message(message, **values)
        self.field = field  # the input at fault (`service`, `version`, `due`, …), when one is
        super().__init__(self.text.plain())

    @property
    def plain(self) -> str:
        return self.text.plain()


class InvalidInput(DomainError):
    """The request is malformed: wrong arguments, bad version, too long."""


class NotFound(DomainError):
    """The thing named does not exist in this workspace."""


class NotAllowed(DomainError):
    """The person may not do this (role, separation of duties)."""


class InvalidTransition(DomainError):
    """The release is in a state where this cannot happen."""


class Conflict(DomainError):
    """The change clashes with existing data (duplicate release, concurrent edit)."""


class Busy(DomainError):
    """The process is saturated: the request was not taken, nothing changed, trying again shortly will work."""

    def __init__(self) -> None:
        super().__init__("Shipmate is busy, try again in a few seconds. Nothing was changed.")


class CodeHostUnavailable(Exception):
    """Not the person's to fix: the code host (GitHub) could not answer now (rate limited, down, unreachable).
    `retry_after`: seconds, when it said."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Refusal:
    """One deployment gate's refusal: which gate, what is wrong and the command that would unblock it. `public`
    names the gate's state without anything a person typed (a freeze's reason, a rejection's words): what may be
    shown outside Slack, e.g. in a comment on GitHub."""

    gate: str
    message: Message
    public: str = ""

    @property
    def summary(self) -> str:
        return self.public or f"the {self.gate} gate refuses"


class GateBlocked(DomainError):
    """Deployment gates refused; each refusal says which gate and how to unblock it."""

    code = "refused_by_gates"

    def __init__(self, ref: str, environment: str, refusals: Sequence[Refusal]) -> None:
        self.ref = ref
        self.environment = environment
        self.refusals = tuple(refusals)
        super().__init__(
            "{ref} cannot be deployed to {environment} yet:\n{reasons}",
            ref=ref,
            environment=environment,
            reasons=Message.lines((refusal.message for refusal in refusals), bullet="• "),
        )
