"""The policy file: the documented example parses, mistakes name the key and the line."""

from pathlib import Path

import pytest

from bot.domain.policy import Policy, PolicyError, load_policy, parse_policy

DESIGN_EXAMPLE = """
release_managers = ["U0RM", "S0RELMGR"]   # top-level keys come before any [table]

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "dev"

[[environments]]
name = "qa"
regression_required = true

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL", "S0RELMGR"]

[[environments.approval_groups]]
name = "qa"
members = ["S0QA"]
required = 1

[reminders]
pending_approval_every = "4h"

[review]
after = "24h"

[[freezes]]
environments = ["prod"]
every = "fri 16:00 - mon 08:00"
reason = "weekend"
timezone = "Europe/Berlin"

[services.payments]
channel = "C0PAYMENTS"
"""


def test_design_example_parses() -> None:
    policy = parse_policy(DESIGN_EXAMPLE)
    assert policy.environment_names == ["dev", "qa", "prod"]
    prod = policy.environment("prod")
    assert prod is not None
    assert prod.approvals == 2
    assert prod.approval_groups[0].members == ["S0QA"]
    assert policy.previous_environment("prod") is not None
    assert policy.is_final("prod")
    assert not policy.is_final("qa")
    assert policy.stakeholder_channels("payments") == ["C0STAKE", "C0PAYMENTS"]
    assert policy.stakeholder_channels("billing") == ["C0STAKE"]
    assert policy.review_after.total_seconds() == 86400


def test_missing_file_means_defaults(tmp_path: Path) -> None:
    policy = load_policy(tmp_path / "absent.toml")
    assert policy == Policy()
    assert policy.environment_names == ["dev", "qa", "prod"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('release_managers = ["bob"]', "line 1"),
        ('[slack]\ncoordination_channel = "#releases"', ":2: slack.coordination_channel"),
        ('[[environments]]\nname = "prod"\napprovalz = 2', ":3: environments.0.approvalz: unknown key"),
        ('[[environments]]\nname = "prod"\napprovals = -1', ":3: environments.0.approvals"),
        ('[reminders]\npending_approval_every = "soon"', ":2: reminders.pending_approval_every"),
        ('[reminders]\nworking_hours = "18:00-09:00"', ":2: reminders.working_hours"),
        ('[reminders]\ntimezone = "Mars/Olympus"', ":2: reminders.timezone"),
        ('[[environments]]\nname = "a"\n[[environments]]\nname = "a"', "unique"),
        ('[[freezes]]\nenvironments = ["prod"]\nevery = "someday"\nreason = "x"', "fri 16:00 - mon 08:00"),
        ("release_managers = [", "not valid TOML"),
    ],
)
def test_mistakes_name_key_and_line(text: str, says: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="shipmate.toml")
    message = str(caught.value)
    assert message.startswith("shipmate.toml")
    assert says in message.replace("shipmate.toml:1", "shipmate.toml line 1"), message
    assert "\n" not in message
