"""Answers for freezes, the calendar, scheduling and subscriptions."""

from bot.domain.cab import Decision
from bot.domain.grammar import change as cmd
from bot.render import render, render_text
from bot.services.change import agenda, cab, feed_links, freezes, subscriptions, windows
from bot.services.kernel.context import Actor, ServiceContext
from bot.slack_text import mrkdwn
from handlers.routes import Answer, answers


def _say(text: str) -> Answer:
    return render("message", text=text, context=None)


@answers(cmd.Freeze)
async def freeze(services: ServiceContext, actor: Actor, command: cmd.Freeze) -> Answer:
    outcome = await freezes.freeze(services, actor, command)
    return _say(render_text("answer_frozen", freeze=outcome.freeze, affected=outcome.affected))


@answers(cmd.ListFreezes)
async def list_freezes(services: ServiceContext, actor: Actor, command: cmd.ListFreezes) -> Answer:
    listing = await freezes.listing(services, actor)
    return render("freeze_list", listing=listing)


@answers(cmd.Unfreeze)
async def unfreeze(services: ServiceContext, actor: Actor, command: cmd.Unfreeze) -> Answer:
    lifted = await freezes.unfreeze(services, actor, command.freeze_id)
    return _say(render_text("answer_unfrozen", freeze=lifted))


@answers(cmd.Calendar)
async def show_calendar(services: ServiceContext, actor: Actor, command: cmd.Calendar) -> Answer:
    ahead = await agenda.agenda(services, actor.team_id, command.days)
    return render("calendar", agenda=ahead, limit=40)


@answers(cmd.CalendarLink)
async def calendar_link(services: ServiceContext, actor: Actor, command: cmd.CalendarLink) -> Answer:
    url = await feed_links.create_link(services, actor)
    return _say(render_text("answer_calendar_link", url=url))


@answers(cmd.Schedule)
async def schedule(services: ServiceContext, actor: Actor, command: cmd.Schedule) -> Answer:
    outcome = await windows.schedule(services, actor, command)
    return _say(render_text("answer_scheduled", outcome=outcome))


@answers(cmd.Subscribe)
async def subscribe(services: ServiceContext, actor: Actor, command: cmd.Subscribe) -> Answer:
    if command.on:
        changed = await subscriptions.subscribe(services, actor, command.service)
    else:
        changed = await subscriptions.unsubscribe(services, actor, command.service)
    return _say(render_text("answer_subscription", service=command.service, on=command.on, changed=changed))


@answers(cmd.Cab)
async def cab_board(services: ServiceContext, actor: Actor, command: cmd.Cab) -> Answer:
    if command.decision is None or command.ref is None:
        return render("cab_agenda", agenda=await cab.show(services, actor), buttons=False)
    outcome = await cab.decide(services, actor, command.ref, Decision(command.decision), command.note, via="command")
    return _say(mrkdwn(outcome.message))
