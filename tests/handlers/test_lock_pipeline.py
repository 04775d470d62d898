"""A deploy lock is a gate for pipelines too: the gate API refuses anyone's pipeline but one the holder stands
behind (naming the holder and the reason), a waiting gate check is released when the lock is lifted, Shipmate's
deployer carries out the holder's own deployment."""

import asyncio

import pytest

from tests.conftest import POLICY
from tests.fakes.pipeline import FakePipeline
from tests.handlers.deploy_steps import PROPOSER, propose_and_approve
from tests.handlers.pipeline_steps import audited, gate, gate_body, requests_of
from tests.harness import Harness

REF = "payments@2.5.0"


@pytest.fixture
def policy_text(pipeline: FakePipeline) -> str:
    return POLICY + f'\n[services.payments]\ndeploy = {{ webhook = "{pipeline.ci_url}" }}\n'


async def test_the_gate_api_refuses_while_locked_and_a_waiting_check_is_released_by_the_unlock(
    harness: Harness, database_url: str
) -> None:
    await propose_and_approve(harness, REF)
    assert "You locked" in await harness.command_answer("lock payments dev migrating the ledger", user="U0BOB")

    refused = await gate(harness, gate_body(environment="dev"))
    assert refused.status == 409, refused.text
    [reason] = refused.json["reasons"]
    assert reason["gate"] == "lock"
    assert reason["message"].startswith("payments dev is locked by @U0BOB until ")
    assert ": migrating the ledger." in reason["message"]

    waiting = asyncio.create_task(gate(harness, gate_body(environment="dev", wait_seconds=60)))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    assert "You lifted" in await harness.command_answer("unlock payments dev", user="U0BOB")
    answer = await asyncio.wait_for(waiting, timeout=10)
    assert answer.status == 200, answer.text
    assert answer.json["allowed"] is True
    assert answer.json["waited_seconds"] > 0
    checks = await audited(database_url, REF, "gate_checked")
    assert [c.details["allowed"] for c in checks] == [False, True]


async def test_a_lock_held_by_the_proposer_lets_their_pipeline_through(harness: Harness) -> None:
    await propose_and_approve(harness, REF)
    assert "You locked" in await harness.command_answer("lock payments dev my deploy", user=PROPOSER)
    allowed = await gate(harness, gate_body(environment="dev"))
    assert allowed.status == 200, allowed.text


async def test_the_deployer_carries_out_the_holders_own_deployment_and_no_one_elses(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    await propose_and_approve(harness, REF)
    assert "You locked" in await harness.command_answer("lock payments dev hands off", user="U0BOB")
    refused = await harness.command_answer(f"deploy {REF} dev", user=PROPOSER)
    assert "payments dev is locked by <@U0BOB>" in refused
    assert await requests_of(database_url) == []

    asked = await harness.command_answer(f"deploy {REF} dev", user="U0BOB")
    assert "Requested" in asked, asked
    [request] = await requests_of(database_url)
    through = await gate(harness, gate_body(environment="dev", request_id=request.request_id))
    assert through.status == 200, through.text
    assert (await gate(harness, gate_body(environment="dev"))).status == 409  # no request: not the holder's
