"""Approval groups: "1 from QA and 1 from release managers", each person filling one slot."""

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.handlers.test_approvals import _click_answer, _latest_card, _propose
from tests.harness import Harness


@pytest.fixture
def policy_text() -> str:
    return """
release_managers = ["U0RM"]
[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"
[[environments]]
name = "staging"
[[environments]]
name = "prod"
approvals = 2
[[environments.approval_groups]]
name = "qa"
members = ["S0QA"]
required = 1
[[environments.approval_groups]]
name = "release managers"
members = ["S0RM"]
required = 1
"""


async def test_group_rules_need_each_groups_quota(harness: Harness, slack: FakeSlack) -> None:
    slack.usergroups.update({"S0QA": ["U0QA1", "U0QA2", "U0BOTH"], "S0RM": ["U0RM1", "U0BOTH"]})
    value = await _propose(harness, slack)
    assert "(1/2)" in await _click_answer(harness, slack, value, user="U0QA1")
    said = await _click_answer(harness, slack, value, user="U0QA2")  # a second qa approver fills no slot
    assert "(2/2)" in said
    assert "every approval" not in said
    card = await _latest_card(harness)
    assert "qa: 1/1" in card
    assert "release managers: 0/1" in card
    assert "proposed" in card
    assert "every approval" in await _click_answer(harness, slack, value, user="U0RM1")
    assert "release managers: 1/1" in await _latest_card(harness)
    refused = await _click_answer(harness, slack, value, user="U0OUT")
    assert "already has every approval" in refused
