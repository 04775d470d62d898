"""Answers for the review and action item commands."""

from typing import Any

from bot.domain import grammar
from bot.render import render
from bot.services import action_items, reviews
from bot.services.context import Actor, ServiceContext


async def review(services: ServiceContext, actor: Actor, command: grammar.ReviewCommand) -> dict[str, Any]:
    if command.verb == "start":
        outcome = await reviews.start(services, actor, command.ref)
    else:
        outcome = await reviews.close(services, actor, command.ref)
    return render("message", text=outcome.message, context=None)


async def action_add(services: ServiceContext, actor: Actor, command: grammar.ActionAdd) -> dict[str, Any]:
    added = await action_items.add(services, actor, command.ref, command.owner_id, command.due, command.text)
    return render("message", text=added.message, context=None)


async def action_done(services: ServiceContext, actor: Actor, command: grammar.ActionDone) -> dict[str, Any]:
    return render("message", text=await action_items.done(services, actor, command.action_id), context=None)


async def list_actions(services: ServiceContext, actor: Actor, command: grammar.ListActions) -> dict[str, Any]:
    entries = await action_items.open_items(services, actor, mine=command.mine)
    return render("action_items", entries=entries[:40], mine=command.mine, now=services.now())


ROUTES: dict[type, Any] = {
    grammar.ReviewCommand: review,
    grammar.ActionAdd: action_add,
    grammar.ActionDone: action_done,
    grammar.ListActions: list_actions,
}
