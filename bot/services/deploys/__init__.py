"""Deployments: deploy and the gates' facts (`deployments`), CI's reports (`reports`), rollbacks, regression
sign-offs, what runs where (`deploy_status`) and the deployments Shipmate asks a deployer for
(`deploy_requests`). The names below are what other features may use (the pipeline judges the same gates and
records what CI and GitHub report); the modules are this package's own."""

from bot.services.deploys.deploy_requests import DeployRequested, track
from bot.services.deploys.deployments import CI_ACTOR, CiReport, DeployOutcome, environment_or_refuse, gate_facts
from bot.services.deploys.reports import record_from_ci
from bot.services.deploys.rollbacks import AUTOMATIC_ACTOR, RollbackOutcome, request_automatic, rollback

__all__ = [
    "AUTOMATIC_ACTOR",
    "CI_ACTOR",
    "CiReport",
    "DeployOutcome",
    "DeployRequested",
    "RollbackOutcome",
    "environment_or_refuse",
    "gate_facts",
    "record_from_ci",
    "request_automatic",
    "rollback",
    "track",
]
