"""Policies per workspace (many workspaces): each workspace's own (`<team_id>.toml`), else its Enterprise Grid
organisation's (`<enterprise_id>.toml`), else the default. GitHub's events and a deployer's reports name a
repository or a deployer, not a workspace, so each may belong to one workspace's policy only."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.domain.policy import Policy, PolicyError

DEFAULT = "default"
OWNER = re.compile(r"^[TE][A-Z0-9]{2,31}$")  # a workspace (T…) or an organisation (E…), as Slack spells them


@dataclass(frozen=True)
class PolicyBook:
    default: Policy
    owners: Mapping[str, Policy] = field(default_factory=dict)  # team or enterprise id → its policy
    origin: str = ""

    def for_team(self, team_id: str | None, enterprise_id: str | None = None) -> Policy:
        if team_id and team_id in self.owners:
            return self.owners[team_id]
        if enterprise_id and enterprise_id in self.owners:
            return self.owners[enterprise_id]
        return self.default

    def origin_for(self, team_id: str, enterprise_id: str | None = None) -> str:
        """Which file a workspace's policy comes from (for `shipmate doctor` and `policy explain`)."""
        if team_id in self.owners:
            return f"{team_id}.toml"
        if enterprise_id and enterprise_id in self.owners:
            return f"{enterprise_id}.toml"
        return f"{DEFAULT}.toml"

    def owner_of_repository(self, full_name: str) -> tuple[str | None, str] | None:
        """(the workspace or organisation whose policy maps the repository — None: the default's —, the service)."""
        for owner, policy in self.owners.items():
            service = policy.service_for_repository(full_name)
            if service:
                return owner, service
        service = self.default.service_for_repository(full_name)
        return (None, service) if service else None


def check_owner(name: str) -> None:
    if name != DEFAULT and not OWNER.match(name):
        raise PolicyError(
            f"{name}.toml: a policy file is named after a workspace (T…), an organisation (E…) or `default`"
        )


def conflicts(policies: Mapping[str, Policy]) -> list[str]:
    """What two workspaces' policies both claim: a GitHub repository or a deployer (webhook URL or workflow). The
    default policy counts as one more owner: a repository it maps would serve every workspace without its own."""
    claimed: dict[tuple[str, str], str] = {}
    found: list[str] = []
    for owner, policy in policies.items():
        for service, settings in policy.services.items():
            keys = []
            if settings.github_repository:
                keys.append(("GitHub repository", settings.github_repository.lower()))
            deployer = settings.deploy
            if deployer is not None and deployer.webhook:
                keys.append(("deployer", deployer.webhook.lower()))
            if deployer is not None and deployer.github_workflow:
                keys.append(("deployer", deployer.github_workflow.lower()))
            for key in keys:
                first = claimed.setdefault(key, f"{owner}.toml (service {service})")
                if not first.startswith(f"{owner}.toml"):
                    found.append(
                        f"{key[0]} {key[1]} is mapped by {first} and by {owner}.toml (service {service}): "
                        "one workspace's policy only"
                    )
    return found


def book(policies: Mapping[str, Policy], *, origin: str = "") -> PolicyBook:
    """`PolicyError` naming the files when two workspaces claim one repository or deployer."""
    for name in policies:
        check_owner(name)
    found = conflicts(policies)
    if found:
        raise PolicyError("; ".join(found))
    owners = {name: policy for name, policy in policies.items() if name != DEFAULT}
    return PolicyBook(policies.get(DEFAULT) or Policy(), owners, origin)
