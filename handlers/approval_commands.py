"""Answers for approve, reject and withdraw."""

from typing import Any

from bot.domain import grammar
from bot.render import render
from bot.services import approvals
from bot.services.context import Actor, ServiceContext


async def approve(services: ServiceContext, actor: Actor, command: grammar.Approve) -> dict[str, Any]:
    outcome = await approvals.approve(services, actor, command.ref, command.comment)
    return render("message", text=outcome.message, context=None)


async def reject(services: ServiceContext, actor: Actor, command: grammar.Reject) -> dict[str, Any]:
    outcome = await approvals.reject(services, actor, command.ref, command.reason)
    return render("message", text=outcome.message, context=None)


async def withdraw(services: ServiceContext, actor: Actor, command: grammar.Withdraw) -> dict[str, Any]:
    outcome = await approvals.withdraw(services, actor, command.ref)
    return render("message", text=outcome.message, context=None)


ROUTES: dict[type, Any] = {
    grammar.Approve: approve,
    grammar.Reject: reject,
    grammar.Withdraw: withdraw,
}
