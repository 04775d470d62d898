"""Answers for help, propose, list, show, history, edit and cancel."""

import json
from functools import cache
from typing import Any

from bot.domain.grammar import VERBS
from bot.domain.grammar import releases as cmd
from bot.domain.grammar.registry import Help
from bot.domain.message import Message, Strong
from bot.domain.proposal import ProposeRequest
from bot.render import render, render_text
from bot.services.change import conflicts
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.releases import editing, notes_view, releases
from bot.slack_text import mrkdwn
from handlers.routes import Answer, answers, say

HISTORY_SHOWN = 45  # events a page: with the title and the page line, inside Slack's 50 blocks


def propose_modal(command: dict[str, Any], services: ServiceContext) -> dict[str, Any]:
    metadata = json.dumps({"channel_id": command.get("channel_id", "")})
    standard = [template.name for template in services.policy.standard_changes]
    return render("propose_modal", private_metadata=metadata, standard_changes=standard)


@cache
def _usage() -> str:
    """Every verb's usage, built once (the grammar does not change while the process runs)."""
    return mrkdwn(Message.lines(Message("`/release {usage}`", usage=verb.usage) for verb in VERBS.values()))


@answers(Help)
async def help_message(services: ServiceContext, actor: Actor, command: Help) -> Answer:
    return render("help", usage=_usage(), unknown=command.unknown)


@answers(cmd.Propose)
async def propose(services: ServiceContext, actor: Actor, command: cmd.Propose) -> Answer:
    assert command.service
    assert command.version
    assert command.summary
    release = await releases.propose(
        services,
        actor,
        ProposeRequest(
            service=command.service,
            version=command.version,
            summary=command.summary,
            risk=command.risk,
            commit_sha=command.commit,
            change_class="emergency" if command.emergency else "normal",
            standard_name=command.standard,
            incident_url=command.incident,
        ),
    )
    clashes = await conflicts.conflict_lines(services, actor, release) if release.window_start else []
    return render("message", text=render_text("answer_proposed", release=release, conflicts=clashes), context=None)


@answers(cmd.ListReleases)
async def list_releases(services: ServiceContext, actor: Actor, command: cmd.ListReleases) -> Answer:
    page = await releases.list_recent(services, actor, command.service)
    title = f"Releases of {command.service}" if command.service else "Recent releases"
    return render("release_list", title=title, releases=page.releases, more=page.more)


@answers(cmd.Show)
async def show(services: ServiceContext, actor: Actor, command: cmd.Show) -> Answer:
    card = await releases.card(services, actor, command.ref)
    return render("release_card", card=card)


@answers(cmd.History)
async def history(services: ServiceContext, actor: Actor, command: cmd.History) -> Answer:
    found = await releases.history(services, actor, command.ref, page=command.page, per_page=HISTORY_SHOWN)
    lines = [render_text("history_line", event=event) for event in found.events]
    return render("history", history=found, ref=found.release.ref, lines=lines)


@answers(cmd.Notes)
async def notes(services: ServiceContext, actor: Actor, command: cmd.Notes) -> Answer:
    view = await notes_view.show(services, actor, command.ref)
    return render("release_notes", view=view, posted_by=None, button=view.may_post)


@answers(cmd.Cancel)
async def cancel(services: ServiceContext, actor: Actor, command: cmd.Cancel) -> Answer:
    release = await releases.cancel(services, actor, command.ref)
    return say(Message("Cancelled {ref} ({status}).", ref=Strong(release.ref), status=release.status.label))


@answers(cmd.Edit)
async def edit(services: ServiceContext, actor: Actor, command: cmd.Edit) -> Answer:
    release, invalidated = await editing.edit(services, actor, command)
    restart = " Its approvals start over; the approvers were told." if invalidated else ""
    return say(Message("Updated {ref}.{restart}", ref=Strong(release.ref), restart=restart))
