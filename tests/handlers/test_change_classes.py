"""Change classes end to end over signed HTTP: a matching standard change ships to prod with no approval and a
non-matching one is refused with the reason; a high-risk change needs the quorum its risk asks for; an emergency
change needs one approval from an emergency approver (never its proposer) and passes a freeze with the override
recorded."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.ids import BlockId, CallbackId
from tests.conftest import POLICY
from tests.fakes.slack_api import Call
from tests.handlers.deploy_steps import PROD_DEPLOYER, PROPOSER, ship_to_prod
from tests.handlers.pipeline_steps import gate, gate_body
from tests.handlers.test_home import open_home
from tests.harness import COORDINATION, Harness, select_input, text_input

CLASSES = """
[[standard_changes]]
name = "feature flag flip"
services = ["payments", "checkout"]
max_risk = "low"
authorised_by = "U0RM"
authorised_on = 2026-11-01

[risk]
approvals = { medium = 1, high = 3 }

[emergency]
approvers = ["U0ONCALL", "U0RM"]
retro_within = "4s"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY + CLASSES


async def test_matching_standard_change_ships_to_prod_without_approval(harness: Harness) -> None:
    answer = await harness.command_answer(
        'propose payments 2.5.0 --standard "Feature flag flip" Turn on the new checkout', user=PROPOSER
    )
    assert "Proposed" in answer, answer
    card = await harness.command_answer("show payments@2.5.0")
    assert "Standard change: feature flag flip, pre-authorised by <@U0RM> on 2026-11-01" in card, card
    await ship_to_prod(harness, "payments@2.5.0", deployer=PROD_DEPLOYER)
    history = await harness.command_answer("history payments@2.5.0")
    assert "feature flag flip" in history, history
    assert "U0RM" in history, history
    assert "2026-11-01" in history, history


async def test_standard_change_that_does_not_match_is_refused_with_the_reason(harness: Harness) -> None:
    risky = await harness.command_answer(
        'propose payments 2.5.1 --risk high --standard "feature flag flip" Big flag', user=PROPOSER
    )
    assert "risk low at most" in risky, risky
    assert "high risk" in risky, risky
    assert "normal change" in risky, risky
    assert "/release propose payments 2.5.1" in risky, risky
    elsewhere = await harness.command_answer('propose search 1.0.0 --standard "feature flag flip" Flag', user=PROPOSER)
    assert "search is not a service of the standard change" in elsewhere, elsewhere
    unknown = await harness.command_answer('propose payments 2.5.2 --standard "db drop" Oops', user=PROPOSER)
    assert "There is no standard change" in unknown, unknown
    assert "feature flag flip" in unknown, unknown
    assert "There is no release" in await harness.command_answer("show payments@2.5.1")


async def test_high_risk_change_needs_the_quorum_of_its_risk(harness: Harness) -> None:
    ref = "payments@2.6.0"
    assert "Proposed" in await harness.command_answer("propose payments 2.6.0 --risk high Schema move", user=PROPOSER)
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {ref}", user=approver)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {ref} qa passed", user="U0QA")
    refused = await harness.command_answer(f"deploy {ref} prod", user="U0RM")
    assert "2/3 approvals for prod" in refused, refused
    assert "(3/3)" in await harness.command_answer(f"approve {ref}", user="U0DAVE")
    assert "is live in *prod*" in await harness.command_answer(f"deploy {ref} prod", user="U0RM")


async def test_emergency_change_needs_one_emergency_approval_and_passes_a_freeze(harness: Harness) -> None:
    ref = "payments@2.7.0"
    assert "quarter close" in await harness.command_answer("freeze prod now +2h quarter close", user="U0RM")
    answer = await harness.command_answer(
        "propose payments 2.7.0 --emergency --incident https://status.example.com/i/42 Card payments fail",
        user="U0ONCALL",
    )
    assert "Proposed" in answer, answer
    refused = await harness.command_answer(f"deploy {ref} dev", user="U0ONCALL")
    assert "0/1 approvals for dev" in refused, refused
    own = await harness.command_answer(f"approve {ref}", user="U0ONCALL")
    assert "You proposed" in own, own
    not_listed = await harness.command_answer(f"approve {ref}", user="U0BOB")
    assert "You approved" not in not_listed, not_listed
    waiting = await open_home(harness, "U0RM")  # an emergency approver sees it waiting for them
    assert "payments@2.7.0* for dev · 0/1 approvals" in waiting.text_everywhere
    assert "(1/1)" in await harness.command_answer(f"approve {ref}", user="U0RM")
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user="U0ONCALL")
    assert "*passed*" in await harness.command_answer(f"verify {ref} qa passed", user="U0QA")
    shipped = await harness.command_answer(f"deploy {ref} prod", user=PROD_DEPLOYER)
    assert "is live in *prod*" in shipped, shipped
    # After prod: the approvers are reminded, the release managers hear it is overdue, the review starts at once.
    await harness.slack.wait_for("chat.postMessage", _in_thread("Post-release review of payments@2.7.0"))
    await harness.slack.wait_for("chat.postMessage", _in_thread("its full approval is due"))
    await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == "U0RM" and "Retroactive approval overdue" in c.text_everywhere
    )
    await harness.slack.wait_for(
        "chat.update", lambda c: ref in c.text_everywhere and "retroactive approval overdue" in c.text_everywhere
    )
    shown = await harness.command_answer(f"show {ref}")
    assert "retroactive approval overdue" in shown, shown
    home = await open_home(harness, "U0BOB")
    assert "retroactive approval overdue" in home.text_everywhere
    assert ref in home.text_everywhere
    assert "You approved" in await harness.command_answer(f"approve {ref}", user="U0BOB")
    done = await harness.command_answer(f"approve {ref}", user="U0CAROL")
    assert "(2/2)" in done, done
    history = await harness.command_answer(f"history {ref}")
    assert "emergency change" in history, history
    assert "https://status.example.com/i/42" in history, history
    assert "retroactive approval overdue" in history, history
    assert "retroactive approval complete, late" in history, history
    assert "retroactive approval given" in await harness.command_answer(f"show {ref}")
    metrics = await harness.command_answer("metrics")
    assert "Emergency changes: 1 reached prod, 0 fully approved in time" in metrics, metrics


async def test_bad_class_flags_are_refused(harness: Harness) -> None:
    both = await harness.command_answer('propose payments 2.8.0 --emergency --standard "feature flag flip" X')
    assert "either standard or emergency" in both, both
    lone = await harness.command_answer("propose payments 2.8.0 --incident https://x.example.com X")
    assert "goes with `--emergency`" in lone, lone
    bad = await harness.command_answer("propose payments 2.8.0 --emergency --incident not-a-link X")
    assert "is not a link to the incident" in bad, bad
    assert "There is no release" in await harness.command_answer("show payments@2.8.0")


def _in_thread(text: str) -> Callable[[Call], bool]:
    return lambda c: c.get("channel") == COORDINATION and bool(c.get("thread_ts")) and text in c.text_everywhere


async def test_gate_api_applies_the_class_and_names_it(harness: Harness) -> None:
    ref = "payments@2.9.0"
    assert "Proposed" in await harness.command_answer(
        'propose payments 2.9.0 --standard "feature flag flip" Flag on', user=PROPOSER
    )
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {ref} qa passed", user="U0QA")
    allowed = await gate(harness, gate_body(ref))
    assert allowed.status == 200, allowed.text
    assert allowed.json["change_class"] == "standard"
    assert "pre-authorised by @U0RM on 2026-11-01" in allowed.json["change_class_text"]

    assert "quarter close" in await harness.command_answer("freeze dev now +2h quarter close", user="U0RM")
    hotfix = "payments@2.9.1"
    assert "Proposed" in await harness.command_answer("propose payments 2.9.1 --emergency Fix", user="U0ONCALL")
    refused = await gate(harness, gate_body(hotfix, "dev"))
    assert refused.status == 409, refused.text
    assert refused.json["change_class"] == "emergency"
    assert [reason["gate"] for reason in refused.json["reasons"]] == ["approvals"]  # the freeze lets it through
    assert "(1/1)" in await harness.command_answer(f"approve {hotfix}", user="U0RM")
    assert (await gate(harness, gate_body(hotfix, "dev"))).status == 200


async def test_the_modal_offers_each_class(harness: Harness) -> None:
    assert (await harness.command("propose")).status == 200
    opened = await harness.slack.wait_for("views.open")
    assert "standard:feature flag flip" in json.dumps(opened[0]["view"])

    def values(version: str, change_class: str, risk: str = "low", incident: str = "") -> dict[str, Any]:
        chosen = {
            BlockId.SERVICE: text_input("payments"),
            BlockId.VERSION: text_input(version),
            BlockId.SUMMARY: text_input("Flag on"),
            BlockId.RISK: select_input(risk),
            BlockId.CHANGE_CLASS: select_input(change_class),
            BlockId.INCIDENT: {"input": {"type": "url_text_input", "value": incident or None}},
        }
        return {str(key): value for key, value in chosen.items()}

    refused = await harness.submit_view(
        CallbackId.PROPOSE, values("3.0.0", "standard:feature flag flip", "high"), user=PROPOSER
    )
    assert refused.json["response_action"] == "errors"
    assert "risk low at most" in refused.json["errors"][str(BlockId.CHANGE_CLASS)]
    stray = await harness.submit_view(
        CallbackId.PROPOSE, values("3.0.0", "normal", incident="https://x.example.com"), user=PROPOSER
    )
    assert str(BlockId.INCIDENT) in stray.json["errors"]
    no_risk = values("3.0.0", "standard:feature flag flip")
    del no_risk[str(BlockId.RISK)]  # left empty: the template's own risk
    ok = await harness.submit_view(CallbackId.PROPOSE, no_risk, user=PROPOSER)
    assert ok.status == 200, ok.text
    assert "feature flag flip" in await harness.command_answer("history payments@3.0.0")
    hotfix = values("3.0.1", "emergency", "high", "https://status.example.com/i/7")
    assert (await harness.submit_view(CallbackId.PROPOSE, hotfix, user=PROPOSER)).status == 200
    assert "https://status.example.com/i/7" in await harness.command_answer("history payments@3.0.1")
