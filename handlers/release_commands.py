"""Answers for propose, list, show, history and cancel."""

import json
from typing import Any

from bot.domain import grammar
from bot.domain.lifecycle import Status
from bot.render import render, render_text
from bot.services import conflicts, editing, releases
from bot.services.context import Actor, ServiceContext


def propose_modal(command: dict[str, Any]) -> dict[str, Any]:
    metadata = json.dumps({"channel_id": command.get("channel_id", "")})
    return render("propose_modal", private_metadata=metadata)


async def propose(services: ServiceContext, actor: Actor, command: grammar.Propose) -> dict[str, Any]:
    assert command.service
    assert command.version
    assert command.summary
    release = await releases.propose(
        services,
        actor,
        releases.ProposeRequest(service=command.service, version=command.version, summary=command.summary),
    )
    clashes = await conflicts.conflict_lines(services, actor, release) if release.window_start else []
    return render("message", text=render_text("answer_proposed", release=release, conflicts=clashes), context=None)


async def list_releases(services: ServiceContext, actor: Actor, command: grammar.ListReleases) -> dict[str, Any]:
    page = await releases.list_recent(services, actor, command.service)
    title = f"Releases of {command.service}" if command.service else "Recent releases"
    return render("release_list", title=title, releases=page.releases, more=page.more)


async def show(services: ServiceContext, actor: Actor, command: grammar.Show) -> dict[str, Any]:
    card = await releases.card(services, actor, command.ref)
    return render("release_card", card=card)


async def history(services: ServiceContext, actor: Actor, command: grammar.History) -> dict[str, Any]:
    release, events = await releases.history(services, actor, command.ref)
    shown = events[-45:]
    lines = [render_text("history_line", event=event) for event in shown]
    return render("history", ref=release.ref, lines=lines, more=len(events) - len(shown))


async def cancel(services: ServiceContext, actor: Actor, command: grammar.Cancel) -> dict[str, Any]:
    release = await releases.cancel(services, actor, command.ref)
    return render("message", text=f"Cancelled *{release.ref}* ({Status(release.status).label}).", context=None)


async def edit(services: ServiceContext, actor: Actor, command: grammar.Edit) -> dict[str, Any]:
    release, invalidated = await editing.edit(services, actor, command)
    restart = " Its approvals start over; the approvers were told." if invalidated else ""
    return render("message", text=f"Updated *{release.ref}*.{restart}", context=None)


ROUTES: dict[type, Any] = {
    grammar.Edit: edit,
    grammar.Propose: propose,
    grammar.ListReleases: list_releases,
    grammar.Show: show,
    grammar.History: history,
    grammar.Cancel: cancel,
}
