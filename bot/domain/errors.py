"""Errors a person can understand. Handlers turn them into ephemeral answers; the text names the fix."""


class DomainError(Exception):
    """Base for every refusal that is the person's to fix, not a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


class GateBlocked(DomainError):
    """A deployment gate refused; the message says which and how to unblock it."""
