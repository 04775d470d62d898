"""Answers for deploy, verify, rollback and status."""

from bot.domain.grammar import deploys as cmd
from bot.render import render
from bot.services.deploys import deploy_status, deployments, rollbacks, signoffs
from bot.services.kernel.context import Actor, ServiceContext
from handlers.routes import Answer, answers, say


@answers(cmd.Deploy)
async def deploy(services: ServiceContext, actor: Actor, command: cmd.Deploy) -> Answer:
    outcome = await deployments.deploy(services, actor, command.ref, command.environment, command.override_reason)
    return say(outcome.message)


@answers(cmd.Verify)
async def verify(services: ServiceContext, actor: Actor, command: cmd.Verify) -> Answer:
    outcome = await signoffs.verify(services, actor, command.ref, command.environment, command.passed, command.note)
    return say(outcome.message)


@answers(cmd.Rollback)
async def rollback(services: ServiceContext, actor: Actor, command: cmd.Rollback) -> Answer:
    outcome = await rollbacks.rollback(services, actor, command.service, command.environment, command.reason)
    return say(outcome.message)


@answers(cmd.StatusReport)
async def status(services: ServiceContext, actor: Actor, command: cmd.StatusReport) -> Answer:
    report = await deploy_status.report(services, actor, command.service)
    title = f"Status of {command.service}" if command.service else "What runs where"
    empty = (
        f"Nothing of {command.service} is deployed or in flight yet."
        if command.service
        else "Nothing is deployed or in flight yet. Propose a release with `/release propose`."
    )
    return render("deploy_status", title=title, report=report, empty=empty)
