"""`/release`: parse, run the one route the command names, and answer ephemerally in the ack (past the budget,
`errors.answered` acks "Working on it…" and this answer goes to `response_url`)."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.domain import grammar
from bot.domain.errors import DomainError
from bot.domain.grammar.registry import Help
from bot.domain.grammar.releases import Propose
from bot.render import FALLBACK
from bot.services.kernel.context import Actor, ServiceContext
from bot.slack_text import mrkdwn
from handlers import (
    approval_commands,
    change_commands,
    deploy_commands,
    errors,
    evidence_commands,
    lock_commands,
    metrics_commands,
    release_commands,
    review_commands,
)
from handlers.routes import ROUTES

# The modules whose `@answers` routes `/release` dispatches to (loading them fills `ROUTES`).
ROUTE_MODULES = (
    release_commands,
    approval_commands,
    deploy_commands,
    change_commands,
    lock_commands,
    review_commands,
    metrics_commands,
    evidence_commands,
)


async def release_command(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: ServiceContext,
) -> None:
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"], channel_id=command.get("channel_id"))
    try:
        parsed = grammar.parse(command.get("text", ""))
    except DomainError as error:  # pure and instant: answer in the ack itself, nothing changes
        await ack(text=mrkdwn(error.text), response_type="ephemeral")
        return
    ref = getattr(parsed, "ref", None)
    logs.bind(release=str(ref) if ref is not None else None)  # this listener's task: its log lines name the release
    if isinstance(parsed, Help):
        await ack(**await ROUTES[Help](services, actor, parsed))
        return
    if isinstance(parsed, Propose) and parsed.service is None:
        await ack()  # at once: the trigger id expires in 3 s
        await client.views_open(
            trigger_id=command["trigger_id"], view=release_commands.propose_modal(command, services)
        )
        return
    answer = await ROUTES[type(parsed)](services, actor, parsed)  # refusals are answered by `errors.answered`
    fallback = answer.pop(FALLBACK, None)
    if fallback is None:
        await ack(**answer, response_type="ephemeral")
        return
    # An answer showing a just-uploaded image goes to response_url, where Slack says whether it took the image
    # (it sometimes refuses one right after its upload); when it did not, the words go instead.
    await ack()
    sent = await respond(**answer, response_type="ephemeral", replace_original=False)
    if sent.status_code != 200:
        await respond(**fallback, response_type="ephemeral", replace_original=False)


def register(app: AsyncApp) -> None:
    app.command("/release")(errors.answered(release_command))
