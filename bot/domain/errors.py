"""Errors a person can understand. They carry data (the field at fault, the refusing gates) and a `Message` that
names the fix; each edge renders them: Slack as ephemeral mrkdwn, a modal under the field, a webhook as JSON.

Each class also names itself for machines: `code` (an `ErrorCode`, the `"error"` of a JSON answer) and
`http_status`, both class attributes, read in one place by the JSON edge (`bot/webhooks/errors.py`)."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bot.domain.message import Message, Value


class ErrorCode(StrEnum):
    """Every `"error"` a machine can read in an answer of Shipmate's webhooks and API (README lists them all)."""

    # Refusals of a rule: a `DomainError` class each.
    REFUSED = "refused"
    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"
    INVALID_TRANSITION = "invalid_transition"
    CONFLICT = "conflict"
    BUSY = "busy"
    REFUSED_BY_GATES = "refused_by_gates"
    COMMIT_MISMATCH = "commit_mismatch"
    REQUEST_MISMATCH = "request_mismatch"
    TOO_MANY_WAITING = "too_many_waiting"
    # Refusals at the HTTP edge, before any rule is asked.
    WEBHOOK_DISABLED = "webhook_disabled"
    BAD_SIGNATURE = "bad_signature"
    BAD_TOKEN = "bad_token"
    INVALID_JSON = "invalid_json"
    INVALID_BODY = "invalid_body"
    INVALID_DELIVERY = "invalid_delivery"
    DELIVERY_ID_REUSED = "delivery_id_reused"
    TEAM_MISMATCH = "team_mismatch"
    SLACK_UNAVAILABLE = "slack_unavailable"
    NOT_CONFIGURED = "not_configured"
    BODY_TOO_LARGE = "body_too_large"
    BODY_TIMEOUT = "body_timeout"
    BODY_INCOMPLETE = "body_incomplete"
    # Not the caller's to fix: logged with an incident id, which the answer carries.
    INTERNAL_ERROR = "internal_error"


class DomainError(Exception):
    """Base for every refusal that is the caller's to fix, not a bug. `code` and `http_status` name it for machines
    (webhook and API answers); the words are for people; `data()` holds what a machine reads beside them."""

    code: ClassVar[ErrorCode] = ErrorCode.REFUSED
    http_status: ClassVar[int] = 409
    retry_after: int | None = None  # seconds after which asking again may succeed, when the refusal knows

    def __init__(self, message: Message | str, /, *, field: str | None = None, **values: Value) -> None:
        self.text = message if isinstance(message, Message) else Message(message, **values)
        self.field = field  # the input at fault (`service`, `version`, `due`, …), when one is
        super().__init__(self.text.plain())

    def data(self) -> dict[str, object]:
        """The refusal's facts as JSON values, beside `code` and the message in a JSON answer."""
        return {"field": self.field} if self.field is not None else {}

    @property
    def plain(self) -> str:
        return self.text.plain()


class InvalidInput(DomainError):
    """The request is malformed: wrong arguments, bad version, too long."""

    code = ErrorCode.INVALID_INPUT
    http_status = 422


class NotFound(DomainError):
    """The thing named does not exist in this workspace."""

    code = ErrorCode.NOT_FOUND
    http_status = 404


class NotAllowed(DomainError):
    """The person may not do this (role, separation of duties)."""

    code = ErrorCode.NOT_ALLOWED
    http_status = 403


class InvalidTransition(DomainError):
    """The release is in a state where this cannot happen."""

    code = ErrorCode.INVALID_TRANSITION
    http_status = 409


class Conflict(DomainError):
    """The change clashes with existing data (duplicate release, concurrent edit)."""

    code = ErrorCode.CONFLICT
    http_status = 409


class Busy(DomainError):
    """The process is saturated: the request was not taken, nothing changed, trying again shortly will work."""

    code = ErrorCode.BUSY
    http_status = 503

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

    code = ErrorCode.REFUSED_BY_GATES
    http_status = 409

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

    def data(self) -> dict[str, object]:
        return {"reasons": [refusal.message.plain() for refusal in self.refusals]}
