"""A release is its commit: the attacks of someone with write access to a repository (or a CI secret), each replayed
against the real server with signed requests, the fake GitHub and CI, and shown to do no harm.

- a GitHub protection rule for other code that names an approved version (payload, or a branch named `v3.0.0`);
- a CI report or a GitHub status that names an open request of another version;
- a freeze override given for one service's request, used for another's gate check;
- a gate check naming another commit (it used to overwrite the release's);
- a GitHub status replayed under fresh delivery ids; an `inactive` status; a GitHub deployment under way blocking
  a rollback;
- a protection-rule callback URL that would send our GitHub token elsewhere; a repository re-created under a name.
"""

import asyncio
from typing import Any

import pytest

from bot.domain.pipeline import UNKNOWN_COMMIT
from bot.settings import Settings
from storage.db import Database
from storage.repositories import releases as releases_repo
from tests.conftest import make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER, hook_body, live_version, post_hook
from tests.handlers.pipeline_steps import GITHUB_SECRET, audited, example, gate, gate_body, github, requests_of
from tests.harness import COORDINATION, Harness

A = "a" * 40  # payments@1.0.0 / 3.0.0
B = "b" * 40  # payments@2.0.0
D = "d" * 40  # code nobody approved
REPOSITORY_ID = 4242
RUN = "/repos/acme/payments/actions/runs/7/deployment_protection_rule"
MANAGER = "U0RM"


@pytest.fixture
def policy_text(pipeline: FakePipeline) -> str:
    return f"""
release_managers = ["{MANAGER}"]
timezone = "UTC"

[slack]
coordination_channel = "{COORDINATION}"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "staging"

[[environments]]
name = "prod"
approvals = 2
approvers = ["U0BOB", "U0CAROL"]
github_environment = "production"

[services.payments]
github_repository = "acme/payments"
github_repository_id = {REPOSITORY_ID}
deploy = {{ webhook = "{pipeline.ci_url}" }}

[services.checkout]
deploy = {{ webhook = "{pipeline.ci_url}" }}
"""


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return make_settings(
        database_url,
        slack,
        shipmate_github_webhook_secret=GITHUB_SECRET,
        shipmate_github_token="ghs_test_token",
        shipmate_github_api_url=pipeline.url,
        shipmate_github_team_id="T0TEAM",
    )


async def _ready_for_prod(harness: Harness, ref: str, sha: str | None) -> None:
    """Proposed (as `sha`), approved twice, and live in staging by CI's report."""
    service, version = ref.split("@")
    commit = f"--commit {sha} " if sha else ""
    assert "Proposed" in await harness.command_answer(f"propose {service} {version} {commit}Ledger", user=PROPOSER)
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {ref}", user=approver)
    report = hook_body(service=service, version=version, environment="staging", delivery_id=f"{ref}-staging")
    if sha:
        report["commit"] = sha
    recorded = await post_hook(harness, report)
    assert recorded.status == 201, recorded.text


def _deployment(payload: dict[str, Any], *, sha: str, ref: str = "main", extra: Any = None) -> dict[str, Any]:
    payload["repository"]["full_name"] = "acme/payments"
    payload["repository"]["id"] = REPOSITORY_ID
    payload["deployment"]["sha"] = sha
    payload["deployment"]["ref"] = ref
    payload["deployment"]["environment"] = "production"
    payload["deployment"]["payload"] = extra if extra is not None else {}
    return payload


def _protection_rule(pipeline: FakePipeline, *, sha: str, ref: str = "main", extra: Any = None) -> dict[str, Any]:
    payload = _deployment(example("deployment_protection_rule"), sha=sha, ref=ref, extra=extra)
    payload["environment"] = "production"
    payload["deployment_callback_url"] = pipeline.url + RUN
    return payload


def _status(state: str, *, sha: str, status_id: int, extra: Any = None) -> dict[str, Any]:
    payload = _deployment(example("deployment_status"), sha=sha, extra=extra)
    payload["deployment_status"]["state"] = state
    payload["deployment_status"]["id"] = status_id
    payload["deployment_status"]["environment"] = "production"
    return payload


async def _commit_of(database_url: str, service: str, version: str) -> str | None:
    db = Database(database_url)
    try:
        async with db.read() as session:
            release = await releases_repo.get(session=session, team_id="T0TEAM", service=service, version=version)
            assert release is not None
            return release.commit_sha
    finally:
        await db.dispose()


async def test_a_protection_rule_for_other_code_is_rejected_whatever_version_it_names(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@3.0.0", A)

    by_payload = await github(
        harness,
        "deployment_protection_rule",
        _protection_rule(pipeline, sha=D, ref="feature/evil", extra={"version": "3.0.0"}),
    )
    pipeline_run = _protection_rule(pipeline, sha=D, ref="v3.0.0")
    pipeline_run["deployment"]["id"] += 1
    by_branch = await github(harness, "deployment_protection_rule", pipeline_run)

    assert by_payload.json["status"] == "rejected", by_payload.text
    assert by_branch.json["status"] == "rejected", by_branch.text
    reviews = await pipeline.wait_for(lambda r: r.path == RUN, count=2)
    assert [review.json["state"] for review in reviews] == ["rejected", "rejected"]
    assert {review.json["comment"] for review in reviews} == {UNKNOWN_COMMIT}  # GitHub learns nothing more
    told = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == COORDINATION and "feature/evil" in c.text_everywhere
    )
    assert "ddddddd" in told[0].text_everywhere
    assert "payments" in told[0].text_everywhere
    assert await _commit_of(database_url, "payments", "3.0.0") == A  # no check, refused or not, rewrites it

    honest = _protection_rule(pipeline, sha=A, ref="v3.0.0")
    honest["deployment"]["id"] += 2
    approved = await github(harness, "deployment_protection_rule", honest)
    assert approved.json["status"] == "approved", approved.text
    await pipeline.wait_for(lambda r: r.path == RUN and r.json["state"] == "approved")


async def test_comments_sent_to_github_name_the_gate_never_what_people_typed(
    harness: Harness, pipeline: FakePipeline
) -> None:
    await _ready_for_prod(harness, "payments@3.0.0", A)
    frozen = await harness.command_answer("freeze prod now +2h merger with Initech, do not tell anyone", user=MANAGER)
    assert "is frozen" in frozen

    answer = await github(harness, "deployment_protection_rule", _protection_rule(pipeline, sha=A))

    assert answer.json["status"] == "rejected", answer.text
    [review] = await pipeline.wait_for(lambda r: r.path == RUN)
    assert review.json["comment"] == "Shipmate: prod is frozen."
    assert "Initech" not in review.body.decode()


async def test_a_gate_check_naming_another_commit_is_refused_and_changes_nothing(
    harness: Harness, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@3.0.0", A)

    wrong = await gate(harness, gate_body("payments@3.0.0", "prod", commit=D))
    missing = await gate(harness, gate_body("payments@3.0.0", "prod"))
    right = await gate(harness, gate_body("payments@3.0.0", "prod", commit=A.upper()))

    assert wrong.status == 409, wrong.text
    assert wrong.json["error"] == "commit_mismatch"
    assert [reason["gate"] for reason in wrong.json["reasons"]] == ["commit"]
    assert missing.status == 409
    assert "send the commit you deploy" in missing.json["reasons"][0]["message"]
    assert right.status == 200, right.text
    assert right.json["commit_checked"] is True
    assert await _commit_of(database_url, "payments", "3.0.0") == A


async def test_a_report_naming_another_versions_request_is_refused_and_audited(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@1.0.0", A)
    assert "Proposed" in await harness.command_answer(f"propose payments 2.0.0 --commit {B} Unreviewed", user=PROPOSER)
    assert "Requested" in await harness.command_answer("deploy payments@1.0.0 prod", user=MANAGER)
    [request] = [r for r in await requests_of(database_url) if r.environment == "prod"]

    forged = hook_body(version="2.0.0", environment="prod", request_id=request.request_id, delivery_id="forged-1")
    refused = await post_hook(harness, forged)

    assert refused.status == 409, refused.text
    assert refused.json["error"] == "request_mismatch"
    assert await live_version(database_url, "payments", "prod") is None
    [event] = await audited(database_url, "payments@2.0.0", "report_refused")
    assert event.details["code"] == "request_mismatch"
    honest = hook_body(
        version="1.0.0", environment="prod", request_id=request.request_id, delivery_id="run-1", commit=A
    )
    recorded = await post_hook(harness, honest)
    assert recorded.status == 201, recorded.text
    assert await live_version(database_url, "payments", "prod") == "1.0.0"


async def test_a_report_of_another_commit_is_refused(harness: Harness, database_url: str) -> None:
    await _ready_for_prod(harness, "payments@1.0.0", A)

    refused = await post_hook(harness, hook_body(version="1.0.0", environment="prod", commit=D, delivery_id="d-1"))

    assert refused.status == 409, refused.text
    assert refused.json["error"] == "commit_mismatch"
    assert await live_version(database_url, "payments", "prod") is None
    [event] = await audited(database_url, "payments@1.0.0", "report_refused")
    assert event.details["commit"] == D


async def test_a_github_status_naming_a_request_cannot_put_other_code_live(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@1.0.0", A)
    assert "Proposed" in await harness.command_answer(
        f"propose payments 4.0.0 --commit {D} Never approved", user=PROPOSER
    )
    assert "Requested" in await harness.command_answer("deploy payments@1.0.0 prod", user=MANAGER)
    [request] = [r for r in await requests_of(database_url) if r.environment == "prod"]

    forged = _status("success", sha=D, status_id=901, extra={"shipmate_request_id": request.request_id})
    answer = await github(harness, "deployment_status", forged)

    assert answer.status == 409, answer.text
    assert answer.json["error"] == "commit_mismatch"
    assert await live_version(database_url, "payments", "prod") is None
    assert await audited(database_url, "payments@1.0.0", "report_refused")


async def test_a_freeze_override_belongs_to_the_release_and_environment_it_was_given_for(
    harness: Harness, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@1.0.0", A)
    await _ready_for_prod(harness, "checkout@1.0.0", None)
    assert "is frozen" in await harness.command_answer("freeze prod now +2h quarter close", user=MANAGER)
    requested = await harness.command_answer(
        "deploy payments@1.0.0 prod --override hotfix for the ledger", user=MANAGER
    )
    assert "Requested" in requested
    [request] = [r for r in await requests_of(database_url) if r.environment == "prod"]

    borrowed = await gate(harness, gate_body("checkout@1.0.0", "prod", request_id=request.request_id))
    own = await gate(harness, gate_body("payments@1.0.0", "prod", request_id=request.request_id, commit=A))

    assert borrowed.status == 409, borrowed.text
    assert {"freeze", "request"} <= {reason["gate"] for reason in borrowed.json["reasons"]}
    assert own.status == 200, own.text


async def test_a_github_status_replayed_under_fresh_delivery_ids_is_recorded_once(
    harness: Harness, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@1.0.0", A)
    captured = _status("success", sha=A, status_id=501)

    answers = [await github(harness, "deployment_status", captured) for _ in range(3)]  # three new delivery ids

    assert [answer.json["status"] for answer in answers] == ["recorded", "duplicate", "duplicate"]
    assert len(await audited(database_url, "payments@1.0.0", "deployed")) == 2  # staging, then prod once


async def test_inactive_is_ignored_and_a_github_deployment_under_way_never_blocks_a_rollback(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    for ref, sha, delivery in (("payments@1.0.0", A, "p1"), ("payments@2.0.0", B, "p2")):
        await _ready_for_prod(harness, ref, sha)
        version = ref.split("@")[1]
        live = await post_hook(
            harness, hook_body(version=version, environment="prod", commit=sha, delivery_id=delivery)
        )
        assert live.status == 201, live.text

    inactive = await github(harness, "deployment_status", _status("inactive", sha=A, status_id=601))
    under_way = await github(harness, "deployment_status", _status("in_progress", sha=B, status_id=602))

    assert inactive.status == 202
    assert inactive.json["status"] == "ignored"
    assert under_way.json["status"] == "in_progress", under_way.text
    rollback = await harness.command_answer("rollback payments prod alerts firing", user=MANAGER)
    assert "Requested" in rollback, rollback
    sent = await pipeline.wait_for(lambda r: r.path == "/hooks/shipmate" and r.json["action"] == "rollback")
    assert sent[0].json["version"] == "1.0.0"
    assert sent[0].json["commit"] == A


@pytest.mark.parametrize(
    "callback",
    [
        "{api}/repos/acme/payments/actions/runs/7/../../../../../user/deployment_protection_rule",
        "{api}/repos/acme/payments/actions/runs/7/deployment_protection_rule?redirect=elsewhere",
        "{api}/repos/acme/payments/actions/runs/7/deployment_protection_rule#x",
        "{api}/repos/acme/other/actions/runs/7/deployment_protection_rule",
        "{api}/repos/acme/payments/actions/runs/7%2F..%2F/deployment_protection_rule",
        "http://attacker@127.0.0.1:1/repos/acme/payments/actions/runs/7/deployment_protection_rule",
        "https://evil.example/repos/acme/payments/actions/runs/7/deployment_protection_rule",
    ],
)
async def test_a_callback_url_that_would_carry_our_token_elsewhere_is_refused(
    harness: Harness, pipeline: FakePipeline, callback: str
) -> None:
    await _ready_for_prod(harness, "payments@3.0.0", A)
    payload = _protection_rule(pipeline, sha=A)
    payload["deployment_callback_url"] = callback.format(api=pipeline.url)

    answer = await github(harness, "deployment_protection_rule", payload)

    assert answer.status == 422, answer.text
    assert answer.json["error"] == "invalid_body"
    assert answer.json["details"][0]["field"] == "deployment_callback_url"
    await asyncio.sleep(0.3)
    assert pipeline.to("deployment_protection_rule") == []


async def test_a_repository_re_created_under_the_pinned_name_is_not_trusted(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await _ready_for_prod(harness, "payments@3.0.0", A)
    payload = _status("success", sha=A, status_id=701)
    payload["repository"]["id"] = REPOSITORY_ID + 1

    answer = await github(harness, "deployment_status", payload)

    assert answer.status == 202
    assert "github_repository_id" in answer.json["message"]
    assert await live_version(database_url, "payments", "prod") is None
