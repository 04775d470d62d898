"""Who may act on a release. Pure: the services gather the people (and group members), these rules decide."""

from bot.domain.errors import NotAllowed
from bot.domain.message import Mention, Message
from bot.domain.policy import Members, Policy


def check_owner(policy: Policy, *, user_id: str, proposer_id: str, members: Members, doing: Message) -> None:
    """A release belongs to its proposer and the release managers: only they edit, schedule, cancel or re-propose it.
    `doing` completes "can …", e.g. `Message("edit {ref}", ref=ref)`."""
    if user_id == proposer_id or policy.is_release_manager(user_id, members):
        return
    raise NotAllowed(
        "Only the proposer ({proposer}) or a release manager can {doing}.", proposer=Mention(proposer_id), doing=doing
    )
