"""Buttons on the release message. The use case runs before the ack (within the budget); the outcome, or the
refusal, comes back ephemerally on `response_url`."""

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.cab import Decision
from bot.ids import ActionId
from bot.render import render
from bot.services import health
from bot.services.approvals import approvals
from bot.services.change import cab
from bot.services.deploys import deployments
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import notes_view
from bot.slack_text import mrkdwn
from handlers import errors, lock_surface, review_surface


def _actor(body: dict[str, Any]) -> Actor:
    channel = (body.get("channel") or {}).get("id")
    return Actor(team_id=body["team"]["id"], user_id=body["user"]["id"], channel_id=channel)


async def approve_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: ServiceContext,
) -> None:
    outcome = await approvals.approve(services, _actor(body), int(action["value"]))
    await ack()
    await respond(text=mrkdwn(outcome.message), response_type="ephemeral", replace_original=False)


async def reject_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: ServiceContext,
) -> None:
    # Refuse before asking for a reason: someone who may not reject should not type one.
    release = await approvals.check_may_decide_by_id(services, _actor(body), int(action["value"]))
    await ack()
    metadata = json.dumps({"release_id": release.id})
    await client.views_open(
        trigger_id=body["trigger_id"], view=render("reject_modal", ref=release.ref, private_metadata=metadata)
    )


async def deploy_next_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
) -> None:
    outcome = await deployments.deploy_by_id(services, _actor(body), str(action["value"]))
    await ack()
    await respond(text=mrkdwn(outcome.message), response_type="ephemeral", replace_original=False)


async def post_notes_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
) -> None:
    message = await notes_view.post(services, _actor(body), int(action["value"]))
    await ack()
    await respond(text=mrkdwn(message), response_type="ephemeral", replace_original=False)


async def alert_rollback_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
) -> None:
    answer = await health.roll_back(services, _actor(body), str(action["value"]))
    await ack()
    await respond(text=mrkdwn(answer.message), response_type="ephemeral", replace_original=False)


async def alert_not_related_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient, services: ServiceContext
) -> None:
    # Refuse before asking for a reason: someone who may not deploy there should not type one.
    alert, release = await health.open_not_related(services, _actor(body), str(action["value"]))
    await ack()
    metadata = json.dumps({"alert_id": alert.id})
    view = render("not_related_modal", alert=alert, ref=release.ref, private_metadata=metadata)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def _cab_clicked(decision: Decision) -> Any:
    async def clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond, services: ServiceContext
    ) -> None:
        outcome = await cab.decide(services, _actor(body), int(action["value"]), decision, via="agenda")
        await ack()
        await respond(text=mrkdwn(outcome.message), response_type="ephemeral", replace_original=False)

    return clicked


def register(app: AsyncApp) -> None:
    app.action(str(ActionId.APPROVE))(errors.answered(approve_clicked))
    app.action(str(ActionId.REJECT))(errors.answered(reject_clicked))
    app.action(str(ActionId.DEPLOY_NEXT))(errors.answered(deploy_next_clicked))
    app.action(str(ActionId.POST_NOTES))(errors.answered(post_notes_clicked))
    app.action(str(ActionId.CLOSE_REVIEW))(errors.answered(review_surface.close_review_clicked))
    app.action(str(ActionId.ADD_ACTION_ITEM))(errors.answered(review_surface.add_action_item_clicked))
    app.action(str(ActionId.ACTION_DONE))(errors.answered(review_surface.action_done_clicked))
    for lock_action in lock_surface.LOCK_BUTTONS:
        app.action(str(lock_action))(errors.answered(lock_surface.lock_button_clicked))
    app.action(str(ActionId.ALERT_ROLLBACK))(errors.answered(alert_rollback_clicked))
    app.action(str(ActionId.ALERT_NOT_RELATED))(errors.answered(alert_not_related_clicked))
    app.action(str(ActionId.CAB_APPROVE))(errors.answered(_cab_clicked(Decision.APPROVE)))
    app.action(str(ActionId.CAB_REJECT))(errors.answered(_cab_clicked(Decision.REJECT)))
    app.action(str(ActionId.CAB_DEFER))(errors.answered(_cab_clicked(Decision.DEFER)))
