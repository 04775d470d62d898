"""Waiting gate checks are bounded (a cap per process and per release, 429 past either), leave when their client
hangs up, may carry a `delivery_id` answered once, and repeated checks are audited once per outcome change."""

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import ClientSession, web

from bot import signing
from bot.domain.policy import Policy
from bot.server import DISPATCHER, GATE_WAITS, create_app
from bot.services.pipeline.gate_waits import GateWaits
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.pipeline_steps import WEBHOOK_SECRET, audited, gate, gate_body
from tests.harness import Harness
from tests.raw_http import connect, request

REF = "payments@2.5.0"
OTHER = "payments@2.6.0"
REPLAYED = "X-Shipmate-Replayed"


@asynccontextmanager
async def served(
    database_url: str, slack: FakeSlack, policy: Policy, *, instances: int = 1, **limits: int
) -> AsyncIterator[tuple[list[Harness], list[GateWaits]]]:
    """Served as `shipmate run` serves (`web.run_app`'s runner): a handler is not cancelled when its client hangs
    up. (aiohttp's TestServer cancels it, which would hide what the server must notice by itself.)"""
    settings = make_settings(database_url, slack, **{f"shipmate_{name}": value for name, value in limits.items()})
    apps = [create_app(settings, policy) for _ in range(instances)]
    runners = [web.AppRunner(app) for app in apps]
    urls = []
    for runner in runners:
        await runner.setup()
        listening = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(runner, listening).start()
        urls.append(f"http://127.0.0.1:{listening.getsockname()[1]}")
    try:
        async with ClientSession() as session:
            yield [Harness(url, session, slack) for url in urls], [app[GATE_WAITS] for app in apps]
    finally:
        for app in apps:
            app[DISPATCHER].stop()
        for runner in runners:
            await runner.cleanup()


async def staged(harness: Harness, ref: str = REF) -> None:
    """Live in dev and qa, regression passed: only prod's two approvals are missing, so a check for prod waits."""
    service, version = ref.split("@")
    assert "Proposed" in await harness.command_answer(f"propose {service} {version} Faster checkout", user=PROPOSER)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {ref} qa passed", user="U0QA")


async def approve(harness: Harness, ref: str = REF) -> None:
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {ref}", user=approver)


async def until(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.02)


async def outcomes(database_url: str, ref: str = REF) -> list[tuple[str, bool, list[str]]]:
    checks = await audited(database_url, ref, "gate_checked")
    return [(c.details["environment"], c.details["allowed"], [r["gate"] for r in c.details["reasons"]]) for c in checks]


async def test_past_the_per_release_cap_a_waiting_check_is_429_and_nothing_is_audited(
    database_url: str, slack: FakeSlack, policy: Policy
) -> None:
    async with served(database_url, slack, policy, max_gate_waiters_per_release=3) as ([harness], [waits]):
        await staged(harness)
        await staged(harness, OTHER)
        held = [asyncio.create_task(gate(harness, gate_body(wait_seconds=60))) for _ in range(3)]
        await until(lambda: waits.waiting == 3)

        refused = await gate(harness, gate_body(wait_seconds=60))

        assert refused.status == 429, refused.text
        assert refused.headers["Retry-After"] == "10"
        assert refused.json["ok"] is False
        assert refused.json["error"] == "too_many_waiting"
        assert refused.json["message"] == (
            "3 gate checks already wait for payments@2.5.0, the limit per release "
            "(SHIPMATE_MAX_GATE_WAITERS_PER_RELEASE); nothing was recorded. Ask again in 10 s, "
            "or with wait_seconds 0 for the answer now."
        )
        assert await outcomes(database_url) == []  # the waiting three are audited when answered; the refused never
        # A check that does not wait is never refused, nor one that need not wait, nor one for another release.
        now = await gate(harness, gate_body())
        assert now.status == 409
        assert now.json["reasons"][0]["gate"] == "approvals"
        assert (await gate(harness, gate_body(environment="qa", wait_seconds=60))).status == 200
        other = asyncio.create_task(gate(harness, gate_body(OTHER, wait_seconds=60)))
        await until(lambda: waits.waiting == 4)

        await approve(harness)

        answers = await asyncio.wait_for(asyncio.gather(*held), timeout=10)
        assert [answer.status for answer in answers] == [200, 200, 200]
        assert waits.waiting == 1  # the other release's check still waits
        # The three were answered together and audited once: the outcome changed once.
        assert await outcomes(database_url) == [("prod", False, ["approvals"]), ("qa", True, []), ("prod", True, [])]
        other.cancel()


async def test_past_the_global_cap_a_waiting_check_is_429_until_a_place_frees(
    database_url: str, slack: FakeSlack, policy: Policy
) -> None:
    async with served(database_url, slack, policy, max_gate_waiters=2) as ([harness], [waits]):
        await staged(harness)
        short = [asyncio.create_task(gate(harness, gate_body(wait_seconds=1))) for _ in range(2)]
        await until(lambda: waits.waiting == 2)

        refused = await gate(harness, gate_body(wait_seconds=60, delivery_id="run-7"))

        assert refused.status == 429, refused.text
        assert refused.headers["Retry-After"] == "10"
        assert "SHIPMATE_MAX_GATE_WAITERS)" in refused.json["message"]
        assert "2 waiting gate checks" in refused.json["message"]
        assert (await gate(harness, gate_body(wait_seconds=0))).status == 409
        # The two run out of time, and their places are free again.
        assert [answer.status for answer in await asyncio.gather(*short)] == [409, 409]
        assert waits.waiting == 0
        # A 429 is not an answer to keep: the same delivery is judged when it comes back.
        again = asyncio.create_task(gate(harness, gate_body(wait_seconds=60, delivery_id="run-7")))
        await until(lambda: waits.waiting == 1)
        await approve(harness)
        answer = await asyncio.wait_for(again, timeout=10)
        assert answer.status == 200, answer.text
        assert REPLAYED not in answer.headers


async def test_waiters_whose_clients_hang_up_are_dropped_unaudited(
    database_url: str, slack: FakeSlack, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(database_url, slack, policy, max_gate_waiters_per_release=5) as ([harness], [waits]):
        await staged(harness)
        sockets = []
        for number in range(5):
            raw = json.dumps(gate_body(wait_seconds=30, delivery_id=f"run-{number}")).encode()
            headers = {"Content-Type": "application/json", **signing.sign(WEBHOOK_SECRET, raw, now=time.time())}
            reader, writer = await connect(harness.base_url)
            writer.write(request("POST", "/api/v1/gate", headers, raw))
            await writer.drain()
            sockets.append((reader, writer))
        await until(lambda: waits.waiting == 5)
        await asyncio.sleep(1)

        for _, writer in sockets:
            writer.close()

        await until(lambda: waits.waiting == 0, within=3)  # a couple of seconds, long before their 30 s run out
        assert await outcomes(database_url) == []
        # Their places are free again, and when the gates pass only the checks still waiting are answered (and
        # audited: the one event is theirs, the first of them asked for 60 s).
        held = [asyncio.create_task(gate(harness, gate_body(wait_seconds=60))) for _ in range(5)]
        await until(lambda: waits.waiting == 5)
        await approve(harness)
        answers = await asyncio.wait_for(asyncio.gather(*held), timeout=10)
        assert [answer.status for answer in answers] == [200] * 5
        [event] = await audited(database_url, REF, "gate_checked")
        assert (event.details["allowed"], event.details["wait_seconds"]) == (True, 60)
        # A delivery that was never answered is judged when it comes back, not replayed.
        retried = await gate(harness, gate_body(wait_seconds=30, delivery_id="run-0"))
        assert retried.status == 200, retried.text
        assert REPLAYED not in retried.headers
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_delivery_id_is_answered_once(database_url: str, slack: FakeSlack, policy: Policy) -> None:
    async with served(database_url, slack, policy) as ([harness], _):
        await staged(harness)
        body = gate_body(delivery_id="run-42-prod")

        first = await gate(harness, body)
        assert first.status == 409
        await approve(harness)
        replay = await gate(harness, body)  # signed afresh: a repeat all the same

        assert replay.status == 409, replay.text
        assert replay.headers[REPLAYED] == "true"
        assert replay.json == first.json  # the first answer, not a new judgement: the gates would pass now
        assert await outcomes(database_url) == [("prod", False, ["approvals"])]  # and not audited again
        reused = await gate(harness, gate_body(delivery_id="run-42-prod", wait_seconds=5))
        assert reused.status == 409
        assert reused.json["error"] == "delivery_id_reused"
        assert "run-42-prod was already used for another body" in reused.json["message"]
        fresh = await gate(harness, gate_body(delivery_id="run-43-prod"))
        assert fresh.status == 200, fresh.text
        assert REPLAYED not in fresh.headers
        assert (await gate(harness, gate_body(delivery_id="run-43-prod"))).headers[REPLAYED] == "true"
        bad = await gate(harness, gate_body(delivery_id="run 44"))
        assert bad.status == 422
        assert [d["field"] for d in bad.json["details"]] == ["delivery_id"]


async def test_repeated_checks_are_audited_once_per_outcome_change(
    database_url: str, slack: FakeSlack, policy: Policy
) -> None:
    async with served(database_url, slack, policy) as ([harness], _):
        await staged(harness)
        for _ in range(5):
            assert (await gate(harness, gate_body())).status == 409
        assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0BOB")
        refused = await gate(harness, gate_body())  # 1/2 now: other words, the same refusing gate
        assert refused.json["reasons"][0]["message"].startswith("payments@2.5.0 has 1/2 approvals for prod")
        assert await outcomes(database_url) == [("prod", False, ["approvals"])]
        assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0CAROL")
        for _ in range(3):
            assert (await gate(harness, gate_body())).status == 200
        assert "is frozen" in await harness.command_answer("freeze prod now +2h quarter close", user="U0RM")
        assert (await gate(harness, gate_body())).status == 409
        assert (await gate(harness, gate_body())).status == 409

        assert await outcomes(database_url) == [
            ("prod", False, ["approvals"]),
            ("prod", True, []),
            ("prod", False, ["freeze"]),
        ]
        history = await harness.command_answer(f"history {REF}")
        assert history.count("asked the gates for prod") == 3


async def test_identical_checks_through_two_processes_are_audited_once(
    database_url: str, slack: FakeSlack, policy: Policy
) -> None:
    async with served(database_url, slack, policy, instances=2) as (harnesses, _):
        await staged(harnesses[0])

        answers = await asyncio.gather(*(gate(h, gate_body()) for _ in range(6) for h in harnesses))

        assert [answer.status for answer in answers] == [409] * 12
        assert await outcomes(database_url) == [("prod", False, ["approvals"])]
