"""A policy per workspace (SHIPMATE_POLICY_DIR): each workspace works under its own file, an organisation's file
serves its workspaces, default.toml the rest; SIGHUP reads them again (a bad file keeps those in force); GitHub's
events go to the workspace whose policy maps the repository."""

from pathlib import Path

import pytest

from bot.server import Runtime
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.pipeline_steps import GITHUB_SECRET, example, github
from tests.harness import Harness
from tests.workspaces.support import command, install, many_settings, stored

SHA = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # the commit of GitHub's example deployment

BASE = """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "{channel}"

[[environments]]
name = "staging"
github_environment = "production"

[[environments]]
name = "prod"
"""
HELLO = """
[services.hello-world]
github_repository = "Codertocat/Hello-World"
"""


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "T0AAA.toml").write_text(BASE.format(channel="C0AAA") + HELLO)
    (folder / "T0BBB.toml").write_text(BASE.format(channel="C0BBB"))
    (folder / "E0ORG.toml").write_text(BASE.format(channel="C0ORG"))
    (folder / "default.toml").write_text(BASE.format(channel="C0DEFAULT"))
    return folder


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, policy_dir: Path) -> Settings:
    return many_settings(
        database_url, slack, shipmate_policy_dir=policy_dir, shipmate_github_webhook_secret=GITHUB_SECRET
    )


@pytest.fixture
def app_policy() -> None:
    return None


async def card_channel(slack: FakeSlack, ref: str) -> tuple[str, str | None]:
    """Where the release's card went, and the workspace of the token it went with."""
    calls = await slack.wait_for("chat.postMessage", lambda call: ref in call.text_everywhere)
    grant = slack.tokens.get(calls[0].token)
    return calls[0]["channel"], grant.team_id if grant else None


async def test_each_workspace_works_under_its_own_policy(harness: Harness, slack: FakeSlack) -> None:
    await install(harness, "T0AAA")
    await install(harness, "T0BBB")
    await install(harness, "T0CCC")
    await command(harness, "propose payments 1.0.0 One", team_id="T0AAA")
    await command(harness, "propose payments 2.0.0 Two", team_id="T0BBB")
    await command(harness, "propose payments 3.0.0 Three", team_id="T0CCC")
    assert await card_channel(slack, "1.0.0") == ("C0AAA", "T0AAA")
    assert await card_channel(slack, "2.0.0") == ("C0BBB", "T0BBB")
    assert await card_channel(slack, "3.0.0") == ("C0DEFAULT", "T0CCC")


async def test_sighup_reads_the_policies_again_and_a_bad_file_keeps_them(
    harness: Harness, runtime: Runtime, slack: FakeSlack, policy_dir: Path
) -> None:
    await install(harness, "T0BBB")
    (policy_dir / "T0BBB.toml").write_text(BASE.format(channel="C0NEW"))
    runtime.reload_policies()
    await command(harness, "propose payments 2.0.0 Two", team_id="T0BBB")
    assert await card_channel(slack, "2.0.0") == ("C0NEW", "T0BBB")

    (policy_dir / "T0BBB.toml").write_text(BASE.format(channel="C0NEWER") + HELLO)  # Hello-World is A's
    runtime.reload_policies()
    await command(harness, "propose payments 2.1.0 Two more", team_id="T0BBB")
    assert await card_channel(slack, "2.1.0") == ("C0NEW", "T0BBB")


async def test_an_organisations_file_serves_the_workspaces_of_an_org_wide_install(
    harness: Harness, slack: FakeSlack
) -> None:
    await install(harness, None, enterprise_id="E0ORG", org_wide=True)
    await command(harness, "propose payments 1.0.0 One", team_id="T0ORG1", enterprise_id="E0ORG")
    await command(harness, "propose payments 2.0.0 Two", team_id="T0ORG2", enterprise_id="E0ORG")
    for version in ("1.0.0", "2.0.0"):
        calls = await slack.wait_for("chat.postMessage", lambda call, v=version: v in call.text_everywhere)  # type: ignore[misc]
        assert calls[0]["channel"] == "C0ORG"
        assert slack.tokens[calls[0].token].enterprise_id == "E0ORG"


async def test_github_events_go_to_the_workspace_whose_policy_maps_the_repository(
    harness: Harness, slack: FakeSlack, database_url: str
) -> None:
    await install(harness, "T0AAA")
    await install(harness, "T0BBB")
    await command(harness, f"propose hello-world 1.0.0 --commit {SHA} Hello", team_id="T0AAA")
    await command(harness, f"propose hello-world 1.0.0 --commit {SHA} Hello", team_id="T0BBB")

    answer = await github(harness, "deployment_status", example("deployment_status"))

    assert answer.status == 200, answer.text
    assert answer.json["status"] == "recorded"
    assert await stored(database_url, "SELECT team_id, environment FROM deployments") == [("T0AAA", "staging")]
