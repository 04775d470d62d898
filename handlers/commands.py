"""`/release`: parse, ack at once, then run the one use case the command names and answer ephemerally."""

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import grammar
from bot.domain.errors import DomainError
from bot.domain.mrkdwn import escape
from bot.render import render
from bot.services.context import Actor, ServiceContext
from handlers import approval_commands, change_commands, deploy_commands, errors, release_commands, review_commands

Route = Callable[[ServiceContext, Actor, Any], Awaitable[dict[str, Any]]]


def routes() -> dict[type, Route]:
    table: dict[type, Route] = {}
    for module in (release_commands, approval_commands, deploy_commands, change_commands, review_commands):
        table.update(module.ROUTES)
    return table


def help_message(command: grammar.Help) -> dict[str, Any]:
    usage = "\n".join(f"`/release {escape(line)}`" for line in grammar.USAGE.values())  # `<ref>` is not a link
    return render("help", usage=usage, unknown=command.unknown)


async def release_command(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: ServiceContext,
) -> None:
    try:
        parsed = grammar.parse(command.get("text", ""))
    except DomainError as error:  # pure and instant: answer in the ack itself, nothing changes
        await ack(text=error.message)
        return
    if isinstance(parsed, grammar.Help):
        await ack(**help_message(parsed))
        return
    if isinstance(parsed, grammar.Propose) and parsed.service is None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=release_commands.propose_modal(command))
        return
    await ack()
    actor = Actor(team_id=command["team_id"], user_id=command["user_id"], channel_id=command.get("channel_id"))
    route = _ROUTES.get(type(parsed))
    if route is None:
        await respond(text="That command is not available yet.", response_type="ephemeral")
        return
    answer = await route(services, actor, parsed)  # refusals are answered by `errors.answered`
    await respond(**answer, response_type="ephemeral", replace_original=False)


_ROUTES: dict[type, Route] = {}


def register(app: AsyncApp) -> None:
    _ROUTES.clear()
    _ROUTES.update(routes())
    app.command("/release")(errors.answered(release_command))
