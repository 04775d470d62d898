"""Answers for deploy, verify, rollback and status."""

from typing import Any

from bot.domain import grammar
from bot.render import render
from bot.services import deploy_status, deployments, rollbacks, signoffs
from bot.services.context import Actor, ServiceContext


async def deploy(services: ServiceContext, actor: Actor, command: grammar.Deploy) -> dict[str, Any]:
    outcome = await deployments.deploy(services, actor, command.ref, command.environment, command.override_reason)
    return render("message", text=outcome.message, context=None)


async def verify(services: ServiceContext, actor: Actor, command: grammar.Verify) -> dict[str, Any]:
    outcome = await signoffs.verify(services, actor, command.ref, command.environment, command.passed, command.note)
    return render("message", text=outcome.message, context=None)


async def rollback(services: ServiceContext, actor: Actor, command: grammar.Rollback) -> dict[str, Any]:
    outcome = await rollbacks.rollback(services, actor, command.service, command.environment, command.reason)
    return render("message", text=outcome.message, context=None)


async def status(services: ServiceContext, actor: Actor, command: grammar.StatusReport) -> dict[str, Any]:
    report = await deploy_status.report(services, actor, command.service)
    title = f"Status of {command.service}" if command.service else "What runs where"
    empty = (
        f"Nothing of {command.service} is deployed or in flight yet."
        if command.service
        else "Nothing is deployed or in flight yet. Propose a release with `/release propose`."
    )
    return render("deploy_status", title=title, report=report, empty=empty)


ROUTES: dict[type, Any] = {
    grammar.Deploy: deploy,
    grammar.Verify: verify,
    grammar.Rollback: rollback,
    grammar.StatusReport: status,
}
