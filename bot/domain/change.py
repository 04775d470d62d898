"""What a change to a release owes, as a value. A use case loads, decides (pure: a `ReleaseChange`), and hands it to
the kernel, which applies it once (`bot.services.kernel.release_state.apply`): the status moves as the lifecycle
table allows, the audit event is written, the scope's approvals start over when it changed, the card is refreshed,
the thread hears its line, stakeholders (channels and the service's subscribers) their post, and the follow-ups
other features attach to the audit action run. No use case writes news by hand.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.domain.lifecycle import Event


class Audit(StrEnum):
    """Every audit action: what the history says happened (`/release history`, the export)."""

    PROPOSED = "proposed"
    REPROPOSED = "reproposed"
    EDITED = "edited"
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMMIT_RECORDED = "commit_recorded"
    COMMIT_UNRESOLVED = "commit_unresolved"
    APPROVED = "approved"
    REJECTED = "rejected"
    REJECTION_WITHDRAWN = "rejection_withdrawn"
    APPROVALS_INVALIDATED = "approvals_invalidated"
    STATUS = "status"
    DEPLOYED = "deployed"
    DEPLOYMENT_REQUESTED = "deployment_requested"
    DEPLOYMENT_REQUEST_CLOSED = "deployment_request_closed"
    ROLLED_BACK = "rolled_back"
    RESTORED = "restored"
    VERIFIED = "verified"
    GATE_CHECKED = "gate_checked"
    REPORT_REFUSED = "report_refused"
    REFUSED = "refused"
    REVIEW_STARTED = "review_started"
    REVIEW_CLOSED = "review_closed"
    ACTION_ITEM_ADDED = "action_item_added"
    ACTION_ITEM_DONE = "action_item_done"
    FREEZE_CREATED = "freeze_created"
    FREEZE_LIFTED = "freeze_lifted"
    CALENDAR_LINK_CREATED = "calendar_link_created"
    LOCK_TAKEN = "lock_taken"
    LOCK_EXTENDED = "lock_extended"
    LOCK_QUEUED = "lock_queued"
    LOCK_OFFERED = "lock_offered"
    LOCK_ENDED = "lock_ended"
    LOCK_BYPASSED = "lock_bypassed"
    CHANGES_EXPORTED = "changes_exported"
    ALERT_FIRED = "alert_fired"
    ALERT_NOT_RELATED = "alert_not_related"
    SOAK_READY = "soak_ready"  # soak, approvals and sign-off met for the next environment: its deployers were told
    AUTO_ROLLBACK = "auto_rollback"  # what an automatic rollback did (requested, paged, or only said: dry-run)
    RETRO_REMINDED = "retro_reminded"  # an emergency change's full approval is due soon
    RETRO_OVERDUE = "retro_overdue"  # … and is past due: escalated to the release managers
    CAB_DECIDED = "cab_decided"  # the CAB (or a release manager, out of band) approved, rejected or deferred it
    WORK_DROPPED = "work_dropped"  # the workspace uninstalled Shipmate: what was still to be done for it


@dataclass(frozen=True)
class Post:
    """A piece of news: the template it is written with (`templates/<template>.txt.j2`, or a Block Kit
    `<template>.json.j2` when `blocks`) and what it names; the release is always in the template's context.
    Stakeholder news goes to the stakeholder channels and, unless `subscribers` is off, to the service's
    subscribers."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    blocks: bool = False
    subscribers: bool = True


def post(template: str, **context: Any) -> Post:
    return Post(template, context)


@dataclass(frozen=True)
class ReleaseChange:
    """What happened to a release, and everything it owes.

    `events`: the lifecycle events, in order; the status moves when the table has the move, and otherwise stays
    (a deployment to an earlier environment of a released release). `scope`: the part of the scope that changed
    (its label, e.g. "summary"): the actor becomes a scope author, approvals start over and their givers are told
    (that line replaces `thread` unless `keep_thread`). `card`: whether the release message shows the change (news
    that only adds a thread line leaves the card as it is)."""

    action: Audit | None  # None: news only (a reminder, a line about a clash), nothing for the history
    details: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    thread: Post | None = None
    stakeholders: Post | None = None
    scope: str | None = None
    keep_thread: bool = False  # with `scope`: `thread` says more than "approvals start over", so it stays
    card: bool = True
