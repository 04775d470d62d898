"""`/release history` over signed HTTP: the newest events in time order, and an honest count of the rest."""

import re
from collections.abc import AsyncIterator

import pytest

from bot.domain.policy import Policy
from bot.services.context import ServiceContext
from bot.settings import Settings
from storage.repositories import audit
from tests.fakes.slack_api import TEAM_ID
from tests.harness import Harness
from tests.review_support import posted_card, services_for

SHOWN = 45


@pytest.fixture
async def services(settings: Settings, policy: Policy) -> AsyncIterator[ServiceContext]:
    context = services_for(settings, policy)
    yield context
    await context.db.dispose()


async def note(services: ServiceContext, release_id: int, count: int) -> None:
    """`count` audit events straight into the trail (a command per event would take minutes)."""
    async with services.db.transaction() as session:
        for n in range(count):
            audit.append(session, TEAM_ID, "U0RM", "noted", release_id=release_id, details={"n": n})


def notes(shown: str) -> list[int]:
    return [int(n) for n in re.findall(r"noted · n: (\d+)", shown)]


async def test_history_shows_the_newest_events_after_two_hundred(harness: Harness, services: ServiceContext) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    release = await posted_card(services, "payments", "2.4.0")
    await note(services, release.pk, 250)
    assert "You approved" in await harness.command_answer("approve payments@2.4.0", user="U0BOB")  # the newest

    shown = await harness.command_answer("history payments@2.4.0")

    assert "approved it for prod" in shown
    assert notes(shown) == list(range(250 - (SHOWN - 1), 250))  # the newest notes, oldest first
    assert shown.index("noted · n: 249") < shown.index("approved it for prod")
    assert "proposed it" not in shown
    # Everything before the 45 shown: the proposal (and its status line, if any) and the first 206 notes.
    async with services.db.read() as session:
        total = len(await audit.newest_for_release(session=session, team_id=TEAM_ID, release_id=release.pk, limit=999))
    assert f"{total - SHOWN} earlier events not shown; these are the newest {SHOWN}" in shown


async def test_a_short_history_shows_everything_and_no_earlier_line(harness: Harness, services: ServiceContext) -> None:
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    release = await posted_card(services, "payments", "2.4.0")
    await note(services, release.pk, SHOWN - 1)  # with the proposal: exactly 45

    shown = await harness.command_answer("history payments@2.4.0")

    assert "proposed it" in shown
    assert notes(shown) == list(range(SHOWN - 1))
    assert "earlier event" not in shown
