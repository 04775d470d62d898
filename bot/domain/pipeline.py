"""Shipmate in the pipeline: the pure rules. Which refusals are worth waiting for, what GitHub's words mean to us,
and the life of a deployment that Shipmate asked a deployer (CI, a GitHub workflow) to carry out."""

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from bot.domain.errors import Conflict, ErrorCode, Refusal
from bot.domain.message import Code
from bot.domain.validation import VERSION_PATTERN

MAX_WAIT_SECONDS = 900  # a gate check may hold its answer this long at most
# Refusals that can lift soon: by acting in Slack (an approval, a regression sign-off, "Not related" on the alert
# holding the version) or by time alone (the soak in the previous environment ends).
WAITABLE_GATES = frozenset({"approvals", "regression", "soak", "alerts"})
# Answering a GitHub protection rule that waits: look again this often even without news (changes made in this
# process or another pull the check forward at once).
PROTECTION_RECHECK_SECONDS = 60


class RequestStatus(StrEnum):
    REQUESTED = "requested"  # sent (or about to be) to the deployer; waiting for CI or GitHub to report
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"  # nothing heard within the service's `deploy_timeout`
    DROPPED = "dropped"  # the workspace uninstalled Shipmate while it was open


class Action(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"


class OutboxKind(StrEnum):
    """Outgoing requests to the pipeline, sent by the dispatcher like Slack messages (retried, never lost)."""

    DEPLOY_WEBHOOK = "deploy_webhook"  # signed POST to a service's CI
    WORKFLOW_DISPATCH = "workflow_dispatch"  # GitHub Actions `workflow_dispatch`
    PROTECTION_REVIEW = "protection_review"  # approve/reject a GitHub deployment protection rule


class JobKind(StrEnum):
    DEPLOY_TIMEOUT = "deploy_timeout"  # target: the request id; release_id set
    PROTECTION_RULE = "protection_rule"  # a GitHub deployment waiting for our verdict; release_id set
    RESOLVE_COMMIT = "resolve_commit"  # a release's tag to look up on GitHub; release_id set
    RELEASE_NOTES = "release_notes"  # a release's notes to compute from GitHub's compare; release_id set


class RequestMismatch(Conflict):
    """A report names a deployment request Shipmate issued for another version, service or environment."""

    code = ErrorCode.REQUEST_MISMATCH

    def __init__(self, request_id: str, *, asked: str, reported: str) -> None:
        super().__init__(
            "Deployment request {id} asked for {asked}; this report is about {reported}, so it is refused. "
            "Report what the request asked for, or leave `request_id` out to be judged by every gate.",
            id=Code(request_id, 64),
            asked=asked,
            reported=reported,
        )


def waitable(refusals: Sequence[Refusal], *, rejected: bool) -> bool:
    """True when every refusal is one an approval, a sign-off, an answer or the soak's end can lift (a rejection
    cannot)."""
    return bool(refusals) and not rejected and all(refusal.gate in WAITABLE_GATES for refusal in refusals)


def version_from_ref(ref: str | None) -> str | None:
    """The version a git ref seems to name (`v2.4.0`, `refs/tags/v2.4.0` → `2.4.0`): a hint for messages only,
    never how a deployment is matched to a release (anyone with push access can name a branch `v2.4.0`)."""
    if not ref:
        return None
    name = ref.removeprefix("refs/tags/")
    if not VERSION_PATTERN.match(name) or not re.match(r"^v?\d", name):
        return None
    return name.removeprefix("v")


def version_from_payload(payload: Mapping[str, Any] | str | None) -> str | None:
    """`deployment.payload.version` when the deployment carries one: a hint for messages only, like the ref."""
    if not isinstance(payload, Mapping):
        return None
    version = payload.get("version")
    return version if isinstance(version, str) and VERSION_PATTERN.match(version) else None


# GitHub deployment status states, as published: error, failure, inactive, in_progress, queued, pending, success.
UNDER_WAY = frozenset({"queued", "pending", "in_progress"})


def github_outcome(state: str) -> str | None:
    """A final GitHub deployment status state as our outcome: succeeded, failed; None for any other state (under
    way, or `inactive`: a newer deployment to the environment replaced it, which says nothing about this one)."""
    if state == "success":
        return "succeeded"
    if state in ("failure", "error"):
        return "failed"
    return None


def review_comment(refusals: Sequence[Refusal], *, limit: int = 1000) -> str:
    """The comment GitHub shows on a rejected deployment: which gates refuse ("prod is frozen", "1 of 2 approvals
    for prod"), never the words people typed (a freeze's reason, a rejection), which GitHub may show to anyone
    who can read the repository."""
    text = "Shipmate: " + "; ".join(refusal.summary for refusal in refusals) + "."
    return text if len(text) <= limit else text[: limit - 1] + "…"


UNKNOWN_COMMIT = "Shipmate: this commit is not a release Shipmate knows; propose it in Slack."
