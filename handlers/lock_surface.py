"""Deploy locks on Slack's surfaces: the "Queue" button on a refusal by a lock, and the buttons of the lock DMs
("Extend", "Take it", "Pass")."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.domain.errors import GateBlocked
from bot.domain.locks import refused_by
from bot.ids import ActionId
from bot.render import render
from bot.services.change import locks
from bot.services.kernel.context import Actor, ServiceContext
from bot.slack_text import mrkdwn


def queue_blocks(error: Exception, text: str) -> list[dict[str, Any]] | None:
    """A refusal by a deploy lock, with a "Queue" button for its slot (None: the refusal is only words)."""
    if not isinstance(error, GateBlocked):
        return None
    refusal = next((refusal for refusal in error.refusals if refusal.gate == "lock"), None)
    if refusal is None:
        return None
    service = refused_by(refusal.public, error.ref.partition("@")[0])
    value = f"{service} {error.environment} {error.ref}"
    blocks: list[dict[str, Any]] = render("lock_refusal", text=text, value=value)["blocks"]
    return blocks


def _actor(body: dict[str, Any]) -> Actor:
    channel = (body.get("channel") or {}).get("id")
    return Actor(team_id=body["team"]["id"], user_id=body["user"]["id"], channel_id=channel)


async def lock_button_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
) -> None:
    """ "Queue" (a refusal by a lock), "Extend" (a lock running out), "Take it" and "Pass" (a lock offered)."""
    use_case = {
        ActionId.LOCK_QUEUE: locks.queue_from_refusal,
        ActionId.LOCK_EXTEND: locks.extend,
        ActionId.LOCK_TAKE: locks.take,
        ActionId.LOCK_PASS: locks.pass_on,
    }[ActionId(action["action_id"])]
    outcome = await use_case(services, _actor(body), str(action["value"]))
    await ack()
    await respond(text=mrkdwn(outcome.message), response_type="ephemeral", replace_original=False)


LOCK_BUTTONS = (ActionId.LOCK_QUEUE, ActionId.LOCK_EXTEND, ActionId.LOCK_TAKE, ActionId.LOCK_PASS)
