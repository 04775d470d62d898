"""Answers for approve, reject and withdraw."""

from bot.domain.grammar import approvals as cmd
from bot.services.approvals import approvals
from bot.services.kernel.context import Actor, ServiceContext
from handlers.routes import Answer, answers, say


@answers(cmd.Approve)
async def approve(services: ServiceContext, actor: Actor, command: cmd.Approve) -> Answer:
    return say((await approvals.approve(services, actor, command.ref, command.comment)).message)


@answers(cmd.Reject)
async def reject(services: ServiceContext, actor: Actor, command: cmd.Reject) -> Answer:
    return say((await approvals.reject(services, actor, command.ref, command.reason)).message)


@answers(cmd.Withdraw)
async def withdraw(services: ServiceContext, actor: Actor, command: cmd.Withdraw) -> Answer:
    return say((await approvals.withdraw(services, actor, command.ref)).message)
