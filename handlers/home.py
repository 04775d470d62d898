"""App Home: publish the person's home tab when they open it; Approve/Reject clicked there answer in the tab.

Clicks in the Home tab carry no `response_url`, so the outcome (or the refusal) is shown by publishing the tab
again with a notice at the top. These listeners match only the Home's blocks and are registered before the
release-message buttons (Bolt runs the first listener that matches).
"""

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import DomainError
from bot.ids import ActionId, BlockId
from bot.render import render, render_json
from bot.services import home
from bot.services.approvals import approvals
from bot.services.kernel.context import Actor, ServiceContext
from bot.slack_text import mrkdwn
from handlers import errors

HOME_BLOCK = re.compile("^" + re.escape(str(BlockId.HOME_APPROVAL)) + ":")


async def publish(client: AsyncWebClient, services: ServiceContext, actor: Actor, notice: str | None = None) -> None:
    view = await home.home(services, actor, notice=notice)
    # The view as the JSON-encoded string Slack's views.publish documents: kept once rendered, never parsed and
    # dumped again (slack_sdk's `views_publish` types it as a dict, hence its generic `api_call`).
    await client.api_call("views.publish", json={"user_id": actor.user_id, "view": render_json("home", view=view)})


async def home_opened(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, services: ServiceContext
) -> None:
    if event.get("tab", "home") != "home":
        return  # the Messages tab opened: nothing to publish
    await publish(client, services, Actor(team_id=body["team_id"], user_id=event["user"]))


def _actor(body: dict[str, Any]) -> Actor:
    return Actor(team_id=body["team"]["id"], user_id=body["user"]["id"])


async def approve_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, services: ServiceContext
) -> None:
    actor = _actor(body)
    try:
        outcome = await approvals.approve(services, actor, int(action["value"]))
        notice = "✅ " + mrkdwn(outcome.message)
    except DomainError as refusal:
        notice = "⚠️ " + mrkdwn(refusal.text)
    await ack()
    await publish(client, services, actor, notice)


async def reject_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, services: ServiceContext
) -> None:
    actor = _actor(body)
    try:
        release = await approvals.check_may_decide_by_id(services, actor, int(action["value"]))
    except DomainError as refusal:
        await ack()
        await publish(client, services, actor, "⚠️ " + mrkdwn(refusal.text))
        return
    await ack()
    metadata = json.dumps({"release_id": release.id})
    await client.views_open(
        trigger_id=body["trigger_id"], view=render("reject_modal", ref=release.ref, private_metadata=metadata)
    )


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(errors.answered(home_opened))
    app.action({"action_id": str(ActionId.APPROVE), "block_id": HOME_BLOCK})(errors.answered(approve_clicked))
    app.action({"action_id": str(ActionId.REJECT), "block_id": HOME_BLOCK})(errors.answered(reject_clicked))
