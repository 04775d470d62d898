"""Who to tell about an environment's health: the people who may deploy to (and roll back) it."""

from bot.domain import permissions
from bot.domain.policy import Environment, Members, Policy


def deployers(policy: Policy, env: Environment, members: Members) -> list[str]:
    """The people who may roll back `env` (its deployers, else its approvers), user groups resolved; release managers
    when the policy names nobody."""
    given = permissions.rule(env, permissions.Permission.ROLL_BACK)
    entities = list(given.entities) or list(policy.release_managers)
    people = [e for e in entities if not e.startswith("S")]
    people += [user for e in entities if e.startswith("S") for user in sorted(members.get(e, frozenset()))]
    return [person for person in dict.fromkeys(people) if person.startswith(("U", "W"))]
