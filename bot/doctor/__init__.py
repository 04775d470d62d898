"""`shipmate doctor`: is this installation ready? One line per check; `run` says whether every check passed.

Order: the policy in force, the Slack side (token, scopes, channels, people), the database, secrets, deployers,
GitHub repositories.
Nothing is changed and nothing is posted; secrets are named, never printed.
"""

from collections.abc import Callable

from bot.doctor.github_checks import check_repositories
from bot.doctor.local_checks import check_database, check_deployers, check_policy, check_secrets
from bot.doctor.report import Check, Report
from bot.doctor.slack_checks import check_slack
from bot.doctor.workspace_checks import check_installations, check_policies
from bot.settings import Settings

__all__ = ["Check", "Report", "run"]


async def run(settings: Settings, emit: Callable[[Check], None]) -> bool:
    report = Report(emit)
    if settings.many_workspaces:
        book = check_policies(report, settings)
        await check_installations(report, settings, book)
        await check_database(report, settings, None)
        check_secrets(report, settings)
        check_deployers(report, book.default if book else None)
        await check_repositories(report, settings, book.default if book else None)
        return report.passed
    policy = check_policy(report, settings)
    team_id = await check_slack(report, settings, policy)
    await check_database(report, settings, team_id)
    check_secrets(report, settings)
    check_deployers(report, policy)
    await check_repositories(report, settings, policy)
    return report.passed
