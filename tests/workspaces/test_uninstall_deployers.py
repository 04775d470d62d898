"""An open deployment request of a workspace that removes Shipmate is closed as dropped, audited in the release's
history; the workspace's unsent request to the deployer never goes out."""

import pytest

from bot.settings import Settings
from tests.conftest import POLICY
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.workspaces.support import command, install, many_settings, stored, uninstall


@pytest.fixture
def policy_text(pipeline: FakePipeline) -> str:
    return POLICY + f'\n[services.payments]\ndeploy = {{ webhook = "{pipeline.ci_url}" }}\n'


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return many_settings(database_url, slack)


async def test_an_open_request_is_dropped_and_audited(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await install(harness, "T0AAA")
    await command(harness, "propose payments 2.5.0 Faster checkout", team_id="T0AAA")
    for approver in ("U0BOB", "U0CAROL"):
        await command(harness, "approve payments@2.5.0", team_id="T0AAA", user=approver)
    answer = await command(harness, "deploy payments@2.5.0 dev", team_id="T0AAA")
    assert "Requested" in str(answer), answer
    await pipeline.wait_for(lambda r: r.path == "/hooks/shipmate")

    assert (await uninstall(harness, "T0AAA")).status == 200

    assert await stored(database_url, "SELECT status FROM deployment_requests") == [("dropped",)]
    closed = await stored(
        database_url,
        "SELECT actor_id, release_id IS NOT NULL FROM audit_events WHERE action = 'deployment_request_closed'",
    )
    assert closed == [("slack", True)]
