"""Action item limits over signed HTTP: at most 50 open per review and 10 open per owner per review. Over a
limit, `action add`, the Add action item button and the modal are refused with the limit and how to make room
(`/release action done <id>`), and nothing changes: no item, no direct message, no thread line."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.domain.policy import Policy
from bot.domain.review import MAX_OPEN_ACTION_ITEMS, MAX_OPEN_PER_OWNER
from bot.ids import INPUT, ActionId, BlockId, CallbackId
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from storage.models import ActionItem
from storage.repositories import action_items as items_repo
from storage.types import utcnow
from tests.fakes.slack_api import TEAM_ID
from tests.handlers.deploy_steps import propose_and_approve, ship_to_prod
from tests.harness import Harness, text_input
from tests.review_support import posted_card, release, services_for

REF = "payments@2.4.0"
OWNER_FULL = (
    "<@U0DAVE> owns 10 open action items on payments@2.4.0, the most one person may: mark one done "
    "(`/release action done &lt;id&gt;`) or pick another owner."
)
REVIEW_FULL = (
    "payments@2.4.0 has 50 open action items, the most a review may have: mark one done first "
    "(`/release action done &lt;id&gt;`)."
)


@pytest.fixture
async def services(settings: Settings, policy: Policy) -> AsyncIterator[ServiceContext]:
    context = services_for(settings, policy)
    yield context
    await context.db.dispose()


@pytest.fixture
async def reviewed(harness: Harness, services: ServiceContext) -> int:
    """payments@2.4.0 in production with its review started; returns the release id."""
    await propose_and_approve(harness, REF)
    await posted_card(services, "payments", "2.4.0")
    await ship_to_prod(harness, REF)
    assert "Started the review" in await harness.command_answer(f"review start {REF}", user="U0ALICE")
    return (await release(services, "payments", "2.4.0")).pk


async def seed(services: ServiceContext, release_id: int, owners: list[str], *, status: str = "open") -> list[int]:
    """Action items straight into the table, one per owner listed (adding fifty by command adds nothing here)."""
    async with services.db.transaction() as session:
        items = [
            items_repo.add(
                session,
                ActionItem(
                    team_id=TEAM_ID,
                    release_id=release_id,
                    owner_id=owner,
                    due_at=utcnow() + timedelta(days=3),
                    text=f"seeded {n}",
                    created_by="U0RM",
                    status=status,
                ),
            )
            for n, owner in enumerate(owners)
        ]
        await session.flush()
        return [item.id or 0 for item in items]


async def items_of(services: ServiceContext, release_id: int) -> list[tuple[str, str]]:
    async with services.db.read() as session:
        query = select(ActionItem).where(ActionItem.team_id == TEAM_ID, ActionItem.release_id == release_id)
        return [(i.owner_id, i.status) for i in (await session.exec(query.order_by(col(ActionItem.id)))).all()]


def add(owner: str, text: str = "Add canary alerts") -> str:
    return f"action add {REF} <@{owner}> +3d {text}"


async def test_one_owner_holds_at_most_ten_open_items_in_a_review(
    harness: Harness, services: ServiceContext, reviewed: int
) -> None:
    await seed(services, reviewed, ["U0DAVE"] * 3, status="done")  # done items do not count
    dave = await seed(services, reviewed, ["U0DAVE"] * (MAX_OPEN_PER_OWNER - 1))
    assert "Added action item" in await harness.command_answer(add("U0DAVE", "The tenth"), user="U0RM")
    await harness.slack.settle()
    before = (await items_of(services, reviewed), len(harness.slack.of("chat.postMessage")))

    refused = await harness.command_answer(add("U0DAVE", "The eleventh"), user="U0RM")

    assert OWNER_FULL in refused
    assert json.loads(refused)["response_type"] == "ephemeral"
    await harness.slack.settle()
    assert (await items_of(services, reviewed), len(harness.slack.of("chat.postMessage"))) == before  # no DM, no line
    assert "Added action item" in await harness.command_answer(add("U0ERIN", "Someone else's"), user="U0RM")
    # Making room as the refusal says: one of Dave's items done, and he may own another.
    assert "Marked action item" in await harness.command_answer(f"action done {dave[0]}", user="U0DAVE")
    assert "Added action item" in await harness.command_answer(add("U0DAVE", "The eleventh"), user="U0RM")
    assert (await items_of(services, reviewed)).count(("U0DAVE", "open")) == MAX_OPEN_PER_OWNER


async def test_a_review_holds_at_most_fifty_open_items_by_command_button_and_modal(
    harness: Harness, services: ServiceContext, reviewed: int
) -> None:
    assert "Proposed" in await harness.command_answer("propose billing 1.0.0 Invoices")
    billing = (await release(services, "billing", "1.0.0")).pk
    await seed(services, billing, [f"U0B{n % 9}" for n in range(60)])  # another release's items do not count
    await seed(services, reviewed, [f"U0P{n % 9}" for n in range(MAX_OPEN_ACTION_ITEMS - 1)])
    assert "Added action item" in await harness.command_answer(add("U0ERIN", "The fiftieth"), user="U0RM")
    await harness.slack.settle()
    before = (await items_of(services, reviewed), len(harness.slack.of("chat.postMessage")))

    by_command = await harness.command_answer(add("U0FRED", "The fifty-first"), user="U0RM")
    assert REVIEW_FULL in by_command

    clicked = await harness.click_answer(ActionId.ADD_ACTION_ITEM, str(reviewed), user="U0RM")
    assert REVIEW_FULL in clicked["text"]
    assert clicked["response_type"] == "ephemeral"
    assert harness.slack.of("views.open") == []  # refused before the modal opens

    values = {
        str(BlockId.OWNER): {INPUT: {"type": "users_select", "selected_user": "U0FRED"}},
        str(BlockId.DUE): {INPUT: {"type": "datepicker", "selected_date": "2099-01-31"}},
        str(BlockId.TEXT): text_input("A modal opened before the review filled up"),
    }
    submitted = await harness.submit_view(
        CallbackId.ACTION_ITEM, values, user="U0RM", private_metadata=json.dumps({"release_id": reviewed})
    )
    assert submitted.json["response_action"] == "errors"
    assert submitted.json["errors"] == {str(BlockId.TEXT): REVIEW_FULL.replace("&lt;", "<").replace("&gt;", ">")}

    await harness.slack.settle()
    assert (await items_of(services, reviewed), len(harness.slack.of("chat.postMessage"))) == before


async def test_two_adds_at_once_for_the_last_place_add_one(
    harness: Harness, services: ServiceContext, reviewed: int
) -> None:
    await seed(services, reviewed, [f"U0P{n % 9}" for n in range(MAX_OPEN_ACTION_ITEMS - 1)])

    answers = await asyncio.gather(
        harness.command_answer(add("U0ERIN", "First in"), user="U0RM"),
        harness.command_answer(add("U0FRED", "Also first in"), user="U0ALICE"),
    )

    assert sum("Added action item" in answer for answer in answers) == 1
    assert sum(REVIEW_FULL in answer for answer in answers) == 1
    assert [status for _, status in await items_of(services, reviewed)].count("open") == MAX_OPEN_ACTION_ITEMS
