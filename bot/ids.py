"""Every Block Kit id in one place: templates and handlers both use these, so they cannot drift."""

from enum import StrEnum


class ActionId(StrEnum):
    APPROVE = "release_approve"
    REJECT = "release_reject"
    DEPLOY_NEXT = "release_deploy_next"
    CLOSE_REVIEW = "review_close"
    ADD_ACTION_ITEM = "review_add_action_item"
    ACTION_DONE = "action_item_done"
    LOCK_EXTEND = "lock_extend"
    LOCK_TAKE = "lock_take"
    LOCK_PASS = "lock_pass"
    LOCK_QUEUE = "lock_queue"  # on a refusal by a deploy lock
    POST_NOTES = "release_post_notes"
    ALERT_ROLLBACK = "alert_rollback"
    ALERT_NOT_RELATED = "alert_not_related"
    CAB_APPROVE = "cab_approve"
    CAB_REJECT = "cab_reject"
    CAB_DEFER = "cab_defer"


class CallbackId(StrEnum):
    PROPOSE = "release_propose"
    REJECT = "release_reject_reason"
    ACTION_ITEM = "review_action_item"
    NOT_RELATED = "alert_not_related_reason"


class BlockId(StrEnum):
    SERVICE = "service"
    VERSION = "version"
    SUMMARY = "summary"
    CHANGES = "changes"
    RISK = "risk"
    WINDOW_START = "window_start"
    WINDOW_HOURS = "window_hours"
    ROLLBACK_PLAN = "rollback_plan"
    COMMIT = "commit"
    CHANGE_CLASS = "change_class"
    INCIDENT = "incident"
    REASON = "reason"
    OWNER = "owner"
    DUE = "due"
    TEXT = "text"
    RELEASE_ACTIONS = "release_actions"
    RELEASE_NOTES = "release_notes"
    HOME_APPROVAL = "home_approval"  # App Home: one actions block per release, `home_approval:<id>`
    CAB_DECISION = "cab_decision"  # the CAB agenda: one actions block per change, `cab_decision:<id>`


# Input elements use one action id per block: the block id says which field it is.
INPUT = "input"
