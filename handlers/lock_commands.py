"""Answers for deploy locks: `lock`, `unlock`, `locks`."""

from bot.domain.grammar import locks as cmd
from bot.render import render
from bot.services.change import locks
from bot.services.kernel.context import Actor, ServiceContext
from handlers.routes import Answer, answers, say


@answers(cmd.Lock)
async def lock(services: ServiceContext, actor: Actor, command: cmd.Lock) -> Answer:
    return say((await locks.lock(services, actor, command)).message)


@answers(cmd.Unlock)
async def unlock(services: ServiceContext, actor: Actor, command: cmd.Unlock) -> Answer:
    return say((await locks.unlock(services, actor, command)).message)


@answers(cmd.ListLocks)
async def list_locks(services: ServiceContext, actor: Actor, command: cmd.ListLocks) -> Answer:
    return render("lock_list", listing=await locks.listing(services, actor))
