"""Answers for `/release export <from> <to>`: the production changes of those days, sent as a CSV file."""

from bot.domain.grammar import metrics as cmd
from bot.render import render, render_text
from bot.services.evidence import export_to_person
from bot.services.kernel.context import Actor, ServiceContext
from handlers.routes import Answer, answers


@answers(cmd.Export)
async def export(services: ServiceContext, actor: Actor, command: cmd.Export) -> Answer:
    sent = await export_to_person(services, actor, command.start, command.end)
    return render("message", text=render_text("answer_export_sent", sent=sent), context=None)
