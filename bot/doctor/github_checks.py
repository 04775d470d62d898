"""GitHub's side of `shipmate doctor`: each service's `github_repository` exists, and its id is pinned in the policy
(`github_repository_id`), so that a repository deleted and re-created under the same name is not trusted."""

from bot.doctor.report import Report
from bot.domain.errors import CodeHostUnavailable
from bot.domain.policy import Policy
from bot.notify.github_api import GitHubReader
from bot.settings import Settings


async def check_repositories(report: Report, settings: Settings, policy: Policy | None) -> None:
    services = {name: s for name, s in (policy.services if policy else {}).items() if s.github_repository}
    if not services:
        return
    reader = GitHubReader(settings.shipmate_github_api_url, settings.shipmate_github_token, timeout=10)
    await reader.start()
    try:
        for name, service in sorted(services.items()):
            repository = service.github_repository
            assert repository is not None
            check = f"github repository of {name}"
            try:
                found = await reader.repository_id(repository)
            except CodeHostUnavailable as exc:
                report.warn(check, f"{repository}: could not be read ({exc}); check SHIPMATE_GITHUB_TOKEN's access")
                continue
            if found is None:
                report.fail(check, f"{repository} not found (or SHIPMATE_GITHUB_TOKEN cannot read it); fix the name")
            elif service.github_repository_id is None:
                report.warn(
                    check,
                    f"{repository} has id {found}: pin it with github_repository_id = {found} in [services.{name}]",
                )
            elif service.github_repository_id != found:
                report.fail(
                    check,
                    f"{repository} has id {found}, not the pinned github_repository_id {service.github_repository_id}:"
                    " the repository was replaced; check it is yours before pinning the new id",
                )
            else:
                report.ok(check, f"{repository} (id {found}, pinned)")
    finally:
        await reader.close()
