"""`POST /api/v1/gate` over HTTP: CI asks before it deploys, is refused with the gates' reasons in plain text,
may wait for the approvals, and every answer is audited on the release."""

import asyncio

from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.pipeline_steps import audited, gate, gate_body
from tests.harness import Harness

REF = "payments@2.5.0"


async def _through_qa(harness: Harness) -> None:
    """Proposed, live in dev and qa, regression passed: only prod's two approvals are missing."""
    assert "Proposed" in await harness.command_answer("propose payments 2.5.0 Faster checkout", user=PROPOSER)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {REF} {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {REF} qa passed", user="U0QA")


async def test_refused_with_reasons_then_allowed_after_approvals(harness: Harness, database_url: str) -> None:
    await _through_qa(harness)

    refused = await gate(harness, gate_body(unknown_field="ignored"))

    assert refused.status == 409, refused.text
    assert refused.json["allowed"] is False
    assert [reason["gate"] for reason in refused.json["reasons"]] == ["approvals"]
    message = refused.json["reasons"][0]["message"]
    assert message.startswith("payments@2.5.0 has 0/2 approvals for prod")
    assert "&lt;" not in message  # plain text, not mrkdwn
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {REF}", user=approver)

    allowed = await gate(harness, gate_body())

    assert allowed.status == 200, allowed.text
    assert allowed.json["allowed"] is True
    checks = await audited(database_url, REF, "gate_checked")
    assert [(c.details["environment"], c.details["allowed"]) for c in checks] == [("prod", False), ("prod", True)]
    assert checks[0].details["reasons"] == refused.json["reasons"]
    history = await harness.command_answer(f"history {REF}")
    assert "asked the gates for prod: refused (approvals)" in history
    assert "asked the gates for prod: allowed" in history


async def test_waiting_check_is_released_by_the_second_approval(harness: Harness, database_url: str) -> None:
    await _through_qa(harness)
    waiting = asyncio.create_task(gate(harness, gate_body(wait_seconds=60)))
    await asyncio.sleep(0.5)  # let it start waiting

    assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0BOB")
    await asyncio.sleep(0.5)
    assert not waiting.done(), "one approval of two must not release it"
    assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0CAROL")

    answer = await asyncio.wait_for(waiting, timeout=10)
    assert answer.status == 200, answer.text
    assert answer.json["allowed"] is True
    assert answer.json["waited_seconds"] > 0
    checks = await audited(database_url, REF, "gate_checked")
    assert [(c.details["allowed"], c.details["wait_seconds"]) for c in checks] == [(True, 60)]


async def test_a_wait_that_runs_out_answers_with_the_reasons(harness: Harness, database_url: str) -> None:
    await _through_qa(harness)
    answer = await gate(harness, gate_body(wait_seconds=1))
    assert answer.status == 409
    assert answer.json["reasons"][0]["gate"] == "approvals"
    assert answer.json["waited_seconds"] >= 1
    assert len(await audited(database_url, REF, "gate_checked")) == 1


async def test_no_waiting_for_what_no_approval_fixes(harness: Harness) -> None:
    await _through_qa(harness)
    assert "cancelled" in await harness.command_answer(f"cancel {REF}", user=PROPOSER)
    answer = await gate(harness, gate_body(wait_seconds=60))
    assert answer.status == 409
    assert answer.json["waited_seconds"] == 0
    assert "status" in [reason["gate"] for reason in answer.json["reasons"]]


async def test_bad_signature_unknown_release_and_bad_body_change_nothing(harness: Harness, database_url: str) -> None:
    await _through_qa(harness)
    forged = await gate(harness, gate_body(), secret="not-the-secret")
    assert (forged.status, forged.json["error"]) == (401, "bad_signature")
    unknown = await gate(harness, gate_body(ref="payments@9.9.9"))
    assert (unknown.status, unknown.json["error"]) == (404, "not_found")
    bad = await gate(harness, gate_body(environment="staging", wait_seconds=5000))
    assert (bad.status, bad.json["error"]) == (422, "invalid_body")
    assert {d["field"] for d in bad.json["details"]} >= {"wait_seconds"}
    assert await audited(database_url, REF, "gate_checked") == []


async def test_another_workspace_is_refused_and_nothing_is_audited(harness: Harness, database_url: str) -> None:
    await _through_qa(harness)

    foreign = await gate(harness, gate_body(team_id="T0OTHER"))

    assert foreign.status == 403, foreign.text
    assert foreign.json["error"] == "team_mismatch"
    assert await audited(database_url, REF, "gate_checked") == []
