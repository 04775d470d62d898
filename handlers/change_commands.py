"""Answers for freezes, the calendar, scheduling and subscriptions."""

from typing import Any

from bot.domain import grammar
from bot.render import render, render_text
from bot.services import agenda, feed_links, freezes, subscriptions, windows
from bot.services.context import Actor, ServiceContext


def _say(text: str) -> dict[str, Any]:
    return render("message", text=text, context=None)


async def freeze(services: ServiceContext, actor: Actor, command: grammar.Freeze) -> dict[str, Any]:
    outcome = await freezes.freeze(services, actor, command)
    return _say(render_text("answer_frozen", freeze=outcome.freeze, affected=outcome.affected))


async def list_freezes(services: ServiceContext, actor: Actor, command: grammar.ListFreezes) -> dict[str, Any]:
    listing = await freezes.listing(services, actor)
    return render("freeze_list", listing=listing)


async def unfreeze(services: ServiceContext, actor: Actor, command: grammar.Unfreeze) -> dict[str, Any]:
    lifted = await freezes.unfreeze(services, actor, command.freeze_id)
    return _say(render_text("answer_unfrozen", freeze=lifted))


async def show_calendar(services: ServiceContext, actor: Actor, command: grammar.Calendar) -> dict[str, Any]:
    ahead = await agenda.agenda(services, actor.team_id, command.days)
    return render("calendar", agenda=ahead, limit=40)


async def calendar_link(services: ServiceContext, actor: Actor, command: grammar.CalendarLink) -> dict[str, Any]:
    url = await feed_links.create_link(services, actor)
    return _say(render_text("answer_calendar_link", url=url))


async def schedule(services: ServiceContext, actor: Actor, command: grammar.Schedule) -> dict[str, Any]:
    outcome = await windows.schedule(services, actor, command)
    return _say(render_text("answer_scheduled", outcome=outcome))


async def subscribe(services: ServiceContext, actor: Actor, command: grammar.Subscribe) -> dict[str, Any]:
    if command.on:
        changed = await subscriptions.subscribe(services, actor, command.service)
    else:
        changed = await subscriptions.unsubscribe(services, actor, command.service)
    return _say(render_text("answer_subscription", service=command.service, on=command.on, changed=changed))


ROUTES: dict[type, Any] = {
    grammar.Freeze: freeze,
    grammar.ListFreezes: list_freezes,
    grammar.Unfreeze: unfreeze,
    grammar.Calendar: show_calendar,
    grammar.CalendarLink: calendar_link,
    grammar.Schedule: schedule,
    grammar.Subscribe: subscribe,
}
