"""Every table; importing this module registers them all on `SQLModel.metadata`."""

from storage.models.change import CalendarToken, Freeze, Subscription
from storage.models.delivery import OutboxMessage, ProcessedEvent, ScheduledJob, WebhookDelivery
from storage.models.health import Alert
from storage.models.installations import slack_bots, slack_installations, slack_oauth_states, slack_workspaces
from storage.models.locks import DeployLock, LockQueueEntry
from storage.models.notes import ReleaseNotes
from storage.models.pipeline import DeploymentRequest
from storage.models.releases import Approval, AuditEvent, Deployment, Release, ReleaseBase, Verification
from storage.models.reviews import ActionItem, Review, ReviewReply

__all__ = [
    "ActionItem",
    "Alert",
    "Approval",
    "AuditEvent",
    "CalendarToken",
    "DeployLock",
    "Deployment",
    "DeploymentRequest",
    "Freeze",
    "LockQueueEntry",
    "OutboxMessage",
    "ProcessedEvent",
    "Release",
    "ReleaseBase",
    "ReleaseNotes",
    "Review",
    "ReviewReply",
    "ScheduledJob",
    "Subscription",
    "Verification",
    "WebhookDelivery",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "slack_workspaces",
]
