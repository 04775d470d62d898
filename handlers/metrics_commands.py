"""Answers for `/release metrics [service] [days]`: the four delivery measures, and the chart when Slack took it."""

from bot.domain.grammar import metrics as cmd
from bot.render import FALLBACK, render
from bot.services.kernel.context import Actor, ServiceContext
from bot.services.metrics import delivery
from handlers.routes import Answer, answers


@answers(cmd.MetricsReport)
async def metrics(services: ServiceContext, actor: Actor, command: cmd.MetricsReport) -> Answer:
    report, chart = await delivery.metrics(services, actor, command.service, command.days)
    words = render("delivery_metrics", report=report, chart=None)
    if chart is None:
        return words
    return {**render("delivery_metrics", report=report, chart=chart), FALLBACK: words}
