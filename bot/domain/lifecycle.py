"""The release state machine: one table, readable in one screen. Anything not listed is refused."""

from enum import StrEnum

from bot.domain.errors import InvalidTransition


class Status(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    RELEASED = "released"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled_back"
    REVIEWED = "reviewed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Event(StrEnum):
    QUORUM_MET = "quorum_met"  # every environment that needs approvals has them
    SCOPE_CHANGED = "scope_changed"  # summary, changes, rollback plan, risk or window changed: approvals start over
    REJECTED = "rejected"
    REJECTION_WITHDRAWN = "rejection_withdrawn"
    REPROPOSED = "reproposed"
    DEPLOYED = "deployed"  # into an environment before the last one
    DEPLOYED_FINAL = "deployed_final"  # into the last environment of the pipeline
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    REVIEW_CLOSED = "review_closed"


S, E = Status, Event
TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (S.PROPOSED, E.QUORUM_MET): S.APPROVED,
    (S.PROPOSED, E.SCOPE_CHANGED): S.PROPOSED,
    (S.PROPOSED, E.REJECTED): S.REJECTED,
    (S.PROPOSED, E.DEPLOYED): S.IN_PROGRESS,
    (S.PROPOSED, E.DEPLOYED_FINAL): S.RELEASED,
    (S.PROPOSED, E.CANCELLED): S.CANCELLED,
    (S.APPROVED, E.SCOPE_CHANGED): S.PROPOSED,
    (S.APPROVED, E.REJECTED): S.REJECTED,
    (S.APPROVED, E.DEPLOYED): S.IN_PROGRESS,
    (S.APPROVED, E.DEPLOYED_FINAL): S.RELEASED,
    (S.APPROVED, E.CANCELLED): S.CANCELLED,
    (S.IN_PROGRESS, E.QUORUM_MET): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.SCOPE_CHANGED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.REJECTED): S.REJECTED,
    (S.IN_PROGRESS, E.DEPLOYED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.DEPLOYED_FINAL): S.RELEASED,
    (S.IN_PROGRESS, E.ROLLED_BACK): S.ROLLED_BACK,
    (S.IN_PROGRESS, E.CANCELLED): S.CANCELLED,
    (S.RELEASED, E.DEPLOYED): S.RELEASED,  # re-deploying to an earlier environment: prod is still the furthest
    (S.RELEASED, E.DEPLOYED_FINAL): S.RELEASED,
    (S.RELEASED, E.ROLLED_BACK): S.ROLLED_BACK,
    (S.RELEASED, E.REVIEW_CLOSED): S.REVIEWED,
    (S.ROLLED_BACK, E.REVIEW_CLOSED): S.REVIEWED,
    (S.REJECTED, E.REJECTION_WITHDRAWN): S.PROPOSED,
    (S.REJECTED, E.REPROPOSED): S.PROPOSED,
    (S.REJECTED, E.CANCELLED): S.CANCELLED,
}

# On its way: it may still be approved, rejected, edited, scheduled, deployed further and reminded about.
OPEN = frozenset({S.PROPOSED, S.APPROVED, S.IN_PROGRESS})
# It reached the end of the pipeline or was taken out of it: time for the post-release review.
REVIEWABLE = frozenset({S.RELEASED, S.ROLLED_BACK})
# Out of the pipeline for good or for now: nothing left to sign off.
CLOSED = frozenset({S.REJECTED, S.CANCELLED, S.REVIEWED})
TERMINAL = frozenset({S.CANCELLED, S.REVIEWED})
# States in which nothing may be deployed: the reason is the status itself.
UNDEPLOYABLE = frozenset({S.REJECTED, S.CANCELLED, S.ROLLED_BACK, S.REVIEWED})

_REASONS = {
    E.QUORUM_MET: "be approved",
    E.SCOPE_CHANGED: "be edited",
    E.REJECTED: "be rejected",
    E.REJECTION_WITHDRAWN: "have a rejection withdrawn",
    E.REPROPOSED: "be proposed again",
    E.DEPLOYED: "be deployed",
    E.DEPLOYED_FINAL: "be deployed",
    E.ROLLED_BACK: "be rolled back",
    E.CANCELLED: "be cancelled",
    E.REVIEW_CLOSED: "have its review closed",
}


class Act(StrEnum):
    """What a person does to a release that its status must allow (beside the moves of the table above)."""

    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"
    SCHEDULE = "schedule"
    SIGN_OFF = "sign off"
    START_REVIEW = "start review"


# Which statuses allow each act, and the refusal that names the status; one table beside TRANSITIONS.
REQUIRES: dict[Act, tuple[frozenset[Status], str]] = {
    Act.APPROVE: (OPEN, "{ref} is {status}, so it cannot be approved."),
    Act.REJECT: (OPEN, "{ref} is {status}, so it cannot be rejected."),
    Act.EDIT: (OPEN, "{ref} is {status}, so it can no longer be edited."),
    Act.SCHEDULE: (OPEN, "{ref} is {status}, so its window can no longer change."),
    Act.SIGN_OFF: (frozenset(Status) - CLOSED, "{ref} is {status}, so there is nothing to sign off."),
    Act.START_REVIEW: (REVIEWABLE, "{ref} is {status}; a review starts once it reaches {final} or is rolled back."),
}


def require(act: Act, status: Status, *, ref: str, **values: str) -> None:
    """Refuse `act` (with the sentence that names the status) unless the release's status allows it."""
    allowed, sentence = REQUIRES[act]
    if status not in allowed:
        raise InvalidTransition(sentence, ref=ref, status=status.label, **values)


def can(status: Status, event: Event) -> bool:
    return (status, event) in TRANSITIONS


def next_status(status: Status, event: Event, *, ref: str = "The release") -> Status:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(
            "{ref} is {status}, so it cannot {reason}.", ref=ref, status=status.label, reason=_REASONS[event]
        ) from None
