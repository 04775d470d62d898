"""Separation of duties over signed HTTP: everyone who changed a release's scope since it was proposed is barred
from approving it (not only the last one to change it), by command and by button, until a new proposal."""

import pytest

from bot.ids import ActionId
from storage.db import Database
from storage.repositories import releases as releases_repo
from tests.conftest import POLICY
from tests.fakes.slack_api import TEAM_ID
from tests.harness import COORDINATION, Harness
from tests.review_support import FAST_POLICY

REF = "payments@2.4.0"
# Two release managers: each may edit and schedule the release, and each may approve it, until they change it.
TWO_MANAGERS = POLICY.replace('release_managers = ["U0RM"]', 'release_managers = ["U0RM", "U0RITA"]')
# The same, with approval reminders every 2 s and both managers named as approvers (so they would be reminded).
FAST_TWO_MANAGERS = FAST_POLICY.replace('release_managers = ["U0RM"]', 'release_managers = ["U0RM", "U0RITA"]').replace(
    'approvers = ["U0BOB", "U0CAROL", "S0RELMGR"]', 'approvers = ["U0BOB", "U0CAROL", "U0RM", "U0RITA"]'
)


@pytest.fixture
def policy_text(request: pytest.FixtureRequest) -> str:
    assert TWO_MANAGERS != POLICY
    assert FAST_TWO_MANAGERS.count("U0RITA") == 2
    return FAST_TWO_MANAGERS if "reminded" in request.node.name else TWO_MANAGERS


async def scope_authors(database_url: str) -> str:
    db = Database(database_url)
    try:
        async with db.read() as session:
            found = await releases_repo.get(session=session, team_id=TEAM_ID, service="payments", version="2.4.0")
    finally:
        await db.dispose()
    assert found is not None
    return found.scope_authors


async def test_every_editor_since_the_proposal_is_barred_until_it_is_proposed_again(
    harness: Harness, database_url: str
) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    assert await scope_authors(database_url) == "U0ALICE"
    assert "Updated" in await harness.command_answer(f"edit {REF} summary Faster checkout, coupons", user="U0RM")
    assert "Updated" in await harness.command_answer(f"edit {REF} changes Coupon codes at checkout", user="U0RITA")
    assert "is planned for" in await harness.command_answer(f"schedule {REF} +2h", user="U0RM")  # U0RM again
    assert await scope_authors(database_url) == "U0ALICE U0RM U0RITA"  # each once, in order

    # The first editor is barred although someone else changed the scope after them; so is the second.
    refused = await harness.command_answer(f"approve {REF}", user="U0RM")
    assert (
        "You changed the scope of payments@2.4.0 (its summary and planned window) since it was proposed, so you "
        "may not approve it (separation of duties); ask another approver: approvers of prod (<@U0BOB>, <@U0CAROL>, "
        "<@U0DAVE>, <!subteam^S0RELMGR>) or release managers (<@U0RM>, <@U0RITA>)."
    ) in refused
    clicked = await harness.click_answer(ActionId.APPROVE, str(await _pk(database_url)), user="U0RITA")
    assert clicked["response_type"] == "ephemeral"
    assert "You changed the scope of payments@2.4.0 (its list of changes) since it was proposed" in clicked["text"]
    assert "Approvals for prod* 0/2" in await harness.command_answer(f"show {REF}")  # the refusals counted nothing

    # Approvers who changed nothing count.
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0BOB")
    assert "(2/2)" in await harness.command_answer(f"approve {REF}", user="U0CAROL")
    card = await harness.command_answer(f"show {REF}")
    assert "Approvals for prod* 2/2: <@U0BOB>, <@U0CAROL>" in card
    assert "*Status*\\napproved" in card
    assert (await harness.command_answer(f"history {REF}")).count("was refused (approve)") == 2

    # A new proposal starts a new scope history: only its proposer is barred now.
    assert "You rejected" in await harness.command_answer(f"reject {REF} needs a rollback drill", user="U0DAVE")
    again = await harness.command_answer("propose payments 2.4.0 Faster checkout, drilled", user="U0ALICE")
    assert "again" in again
    assert await scope_authors(database_url) == "U0ALICE"
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0RM")
    assert "You proposed payments@2.4.0" in await harness.command_answer(f"approve {REF}", user="U0ALICE")
    assert "(2/2)" in await harness.command_answer(f"approve {REF}", user="U0RITA")


async def test_a_release_manager_who_proposes_again_is_its_only_scope_author(
    harness: Harness, database_url: str
) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    assert "Updated" in await harness.command_answer(f"edit {REF} risk high", user="U0RITA")
    assert "You rejected" in await harness.command_answer(f"reject {REF} too risky this week", user="U0BOB")
    assert "again" in await harness.command_answer("propose payments 2.4.0 Faster checkout", user="U0RM")

    assert await scope_authors(database_url) == "U0RM"
    refused = await harness.command_answer(f"approve {REF}", user="U0RM")
    assert "You changed the scope of payments@2.4.0 since it was proposed, so you may not approve it" in refused
    assert "(1/2)" in await harness.command_answer(f"approve {REF}", user="U0RITA")  # her edit was before it


async def test_scope_authors_are_not_reminded_to_approve(harness: Harness) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    assert "Updated" in await harness.command_answer(f"edit {REF} summary Faster checkout, coupons", user="U0RM")
    assert "Updated" in await harness.command_answer(f"edit {REF} risk high", user="U0RITA")
    slack = harness.slack
    after_edits = {user: len(slack.posts(user)) for user in ("U0BOB", "U0RM", "U0RITA")}

    # Two rounds of reminders (every 2 s) after the edits: the second began well after they were committed.
    await slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == "U0BOB", count=after_edits["U0BOB"] + 2, timeout=15
    )
    await slack.settle(quiet=0.5)
    last_round = slack.posts("U0BOB")[-1]
    assert REF in last_round.text_everywhere
    assert REF in slack.posts("U0CAROL")[-1].text_everywhere
    for editor in ("U0RM", "U0RITA"):
        since = [c for c in slack.posts(editor)[after_edits[editor] :] if REF in c.text_everywhere]
        assert since == [], f"{editor} changed the scope, yet was reminded to approve it"


async def _pk(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.read() as session:
            found = await releases_repo.get(session=session, team_id=TEAM_ID, service="payments", version="2.4.0")
    finally:
        await db.dispose()
    assert found is not None
    return found.pk
