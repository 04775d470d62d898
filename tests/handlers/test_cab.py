"""The change advisory board end to end over signed HTTP: a high-risk change needs its quorum and a CAB approval from
the agenda message posted to the CAB channel (kept current in place), `/release cab` shows the agenda, and a release
manager may decide out of band, which the history says."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.ids import ActionId
from storage.db import Database
from storage.repositories import releases as releases_repo
from tests.conftest import POLICY
from tests.handlers.deploy_steps import PROPOSER
from tests.harness import Harness

CAB_CHANNEL = "C0CAB"
CAB = """
[risk]
approvals = { high = 2 }
cab = ["high"]

[cab]
channel = "C0CAB"
members = ["U0CABBY", "S0CABGRP"]
meets = "{weekday} 09:00"
agenda_before = "7d"
"""


@pytest.fixture
def policy_text() -> str:
    # The next meeting is two to three days away: a window in an hour is planned before it.
    weekday = (datetime.now(UTC) + timedelta(days=3)).strftime("%a")
    return POLICY + CAB.replace("{weekday}", weekday)


def _agenda(text: str) -> Any:
    return lambda c: c.get("channel") == CAB_CHANNEL and text in c.text_everywhere


async def _release_id(database_url: str, harness: Harness, version: str) -> int:
    db = Database(database_url)
    try:
        async with db.read() as session:
            release = await releases_repo.get(
                session=session, team_id=harness.team_id, service="payments", version=version
            )
            assert release is not None
            return release.pk
    finally:
        await db.dispose()


async def _ready_for_prod(harness: Harness, ref: str) -> None:
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {ref}", user=approver)
    for env in ("dev", "qa"):
        assert f"is live in *{env}*" in await harness.command_answer(f"deploy {ref} {env}", user=PROPOSER)
    assert "*passed*" in await harness.command_answer(f"verify {ref} qa passed", user="U0QA")


async def test_high_risk_change_needs_a_cab_approval_from_the_agenda(harness: Harness, database_url: str) -> None:
    ref = "payments@2.6.0"
    assert "Proposed" in await harness.command_answer("propose payments 2.6.0 --risk high Ledger move", user=PROPOSER)
    posted = await harness.slack.wait_for("chat.postMessage", _agenda(ref))
    assert "CAB agenda" in posted[0].text_everywhere
    assert ActionId.CAB_APPROVE in str(posted[0].params.get("blocks"))
    shown = await harness.command_answer("cab")
    assert ref in shown, shown
    # A change that joins the agenda after it went out updates the message in place.
    assert "Proposed" in await harness.command_answer("propose payments 2.6.5 --risk high Index swap", user=PROPOSER)
    await harness.slack.wait_for(
        "chat.update", lambda c: c.get("channel") == CAB_CHANNEL and "payments@2.6.5" in c.text_everywhere
    )
    assert "Cancelled" in await harness.command_answer("cancel payments@2.6.5", user=PROPOSER)
    await _ready_for_prod(harness, ref)
    refused = await harness.command_answer(f"deploy {ref} prod", user="U0RM")
    assert "needs the CAB's approval before prod" in refused, refused

    release_id = str(await _release_id(database_url, harness, "2.6.0"))
    outsider = await harness.click_answer(ActionId.CAB_APPROVE, release_id, user="U0BOB")
    assert "Only CAB members" in outsider["text"], outsider
    proposer = await harness.click_answer(ActionId.CAB_APPROVE, release_id, user=PROPOSER)
    assert "Only CAB members" in proposer["text"], proposer
    approved = await harness.click_answer(ActionId.CAB_APPROVE, release_id, user="U0CABBY")
    assert "You *approved* payments@2.6.0 for the CAB" in approved["text"], approved
    # The agenda message is updated in place: the decided change has left it.
    await harness.slack.wait_for(
        "chat.update", lambda c: c.get("channel") == CAB_CHANNEL and "Nothing needs the CAB" in c.text_everywhere
    )
    assert "is live in *prod*" in await harness.command_answer(f"deploy {ref} prod", user="U0RM")
    history = await harness.command_answer(f"history {ref}")
    assert "approved it for the CAB" in history, history


async def test_release_manager_decides_out_of_band_and_the_history_says_so(harness: Harness) -> None:
    ref = "payments@2.6.1"
    assert "Proposed" in await harness.command_answer("propose payments 2.6.1 --risk high Ledger fix", user=PROPOSER)
    await harness.slack.wait_for("chat.postMessage", _agenda(ref))
    deferred = await harness.command_answer(f"cab defer {ref} wait for the load test", user="U0CABBY")
    assert "deferred" in deferred, deferred
    await harness.slack.wait_for("chat.update", _agenda("wait for the load test"))  # the agenda shows the note
    await _ready_for_prod(harness, ref)
    assert "was deferred by the CAB" in await harness.command_answer(f"deploy {ref} prod", user="U0RM")
    unplanned = await harness.command_answer(f"cab approve {ref} load test passed", user="U0RM")
    assert "is not planned yet, so the CAB decides it at its meeting" in unplanned, unplanned
    assert "is planned for" in await harness.command_answer(f"schedule {ref} +1h", user=PROPOSER)
    answer = await harness.command_answer(f"cab approve {ref} load test passed", user="U0RM")
    assert "out of band" in answer, answer
    # A new scope is a new decision: the edit clears the CAB's approval along with the approvals.
    assert "Updated" in await harness.command_answer(f"edit {ref} summary Ledger fix, smaller", user=PROPOSER)
    again = await harness.command_answer(f"deploy {ref} prod", user="U0RM")
    assert "needs the CAB's approval before prod" in again, again
    assert "out of band" in await harness.command_answer(f"cab approve {ref}", user="U0RM")
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer(f"approve {ref}", user=approver)
    assert "is live in *prod*" in await harness.command_answer(f"deploy {ref} prod", user="U0RM")
    history = await harness.command_answer(f"history {ref}")
    assert "deferred it for the CAB" in history, history
    assert "out of band" in history, history
    low = await harness.command_answer("propose payments 2.6.2 --risk low Copy fix", user=PROPOSER)
    assert "Proposed" in low, low
    assert "does not need the CAB" in await harness.command_answer("cab approve payments@2.6.2", user="U0RM")
    assert "say `approve`, `reject` or `defer`" in await harness.command_answer("cab maybe payments@2.6.2")
