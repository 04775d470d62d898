"""Answers for the review and action item commands."""

from bot.domain.grammar import reviews as cmd
from bot.render import render
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.reviews import action_items, reviews
from handlers.routes import Answer, answers, say


@answers(cmd.ReviewCommand)
async def review(services: ServiceContext, actor: Actor, command: cmd.ReviewCommand) -> Answer:
    if command.verb == "start":
        return say((await reviews.start(services, actor, command.ref)).message)
    return say((await reviews.close(services, actor, command.ref)).message)


@answers(cmd.ActionAdd)
async def action_add(services: ServiceContext, actor: Actor, command: cmd.ActionAdd) -> Answer:
    added = await action_items.add(services, actor, command.ref, command.owner_id, command.due, command.text)
    return say(added.message)


@answers(cmd.ActionDone)
async def action_done(services: ServiceContext, actor: Actor, command: cmd.ActionDone) -> Answer:
    return say(await action_items.done(services, actor, command.action_id))


@answers(cmd.ListActions)
async def list_actions(services: ServiceContext, actor: Actor, command: cmd.ListActions) -> Answer:
    entries = await action_items.open_items(services, actor, mine=command.mine)
    return render("action_items", entries=entries[:40], mine=command.mine, now=services.now())
