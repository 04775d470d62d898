"""What Shipmate asks a deployer for: a workflow dispatched on the release's tag (`ref = "v{version}"`) runs, checks
out and deploys the release's commit; the webhook body names the commit to deploy."""

from datetime import UTC, datetime

from bot.domain.policy import Deployer
from bot.services.deploys.deploy_requests import deployer_payload
from storage.models import DeploymentRequest, Release

SHA = "0123456789abcdef0123456789abcdef01234567"


def _request() -> tuple[DeploymentRequest, Release]:
    release = Release(
        id=7, team_id="T0TEAM", service="checkout", version="2.5.0", summary="s", proposer_id="U0A", channel_id="C0R"
    )
    request = DeploymentRequest(
        team_id="T0TEAM",
        request_id="r1",
        release_id=7,
        service="checkout",
        version="2.5.0",
        commit_sha=SHA,
        environment="prod",
        action="deploy",
        deployer="github_workflow",
        requested_by="U0A",
        deadline_at=datetime(2026, 12, 6, tzinfo=UTC),
    )
    return request, release


def test_a_workflow_is_dispatched_on_the_ref_the_policy_names_with_the_version_filled_in() -> None:
    request, release = _request()
    tagged = Deployer(github_workflow="acme/checkout/.github/workflows/deploy.yml", ref="v{version}")
    branch = Deployer(github_workflow="acme/checkout/.github/workflows/deploy.yml", ref="main")

    assert deployer_payload(tagged, request, release)[1]["ref"] == "v2.5.0"
    assert deployer_payload(branch, request, release)[1]["ref"] == "main"


def test_a_webhook_body_names_the_commit_to_deploy() -> None:
    request, release = _request()
    _kind, payload = deployer_payload(Deployer(webhook="https://ci.example.com/hooks/ship"), request, release)

    assert payload["body"]["commit"] == SHA
    assert payload["body"]["version"] == "2.5.0"
