"""`/release history <ref> [page]` over signed HTTP: page 1 is the newest events in time order, each next page
goes further back until every event has been shown, and the answer says where it is and how to go on."""

import json
import re
from collections.abc import AsyncIterator

import pytest

from bot.domain.policy import Policy
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from storage.repositories import audit
from tests.fakes.slack_api import TEAM_ID
from tests.harness import Harness
from tests.review_support import posted_card, services_for

SHOWN = 45
REF = "payments@2.4.0"


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


async def trail_length(services: ServiceContext, release_id: int) -> int:
    async with services.db.read() as session:
        return await audit.count_for_release(session=session, team_id=TEAM_ID, release_id=release_id)


def notes(shown: str) -> list[int]:
    return [int(n) for n in re.findall(r"noted · n: (\d+)", shown)]


def blocks(shown: str) -> list[str]:
    """The text of every block of an answer, in order."""
    answer = json.loads(shown)
    return [block["text"]["text"] if "text" in block else block["elements"][0]["text"] for block in answer["blocks"]]


async def proposed_with_notes(harness: Harness, services: ServiceContext, count: int) -> int:
    """Propose payments@2.4.0 and add `count` notes to its trail; returns the release id."""
    assert "Proposed" in await harness.command_answer("propose payments 2.4.0 Faster checkout")
    release = await posted_card(services, "payments", "2.4.0")
    await note(services, release.pk, count)
    return release.pk


async def test_page_one_shows_the_newest_events_and_where_they_stand(
    harness: Harness, services: ServiceContext
) -> None:
    release_id = await proposed_with_notes(harness, services, 250)
    assert "You approved" in await harness.command_answer(f"approve {REF}", user="U0BOB")  # the newest
    total = await trail_length(services, release_id)
    pages = -(-total // SHOWN)

    shown = await harness.command_answer(f"history {REF}")

    assert "approved it for prod" in shown
    assert notes(shown) == list(range(250 - (SHOWN - 1), 250))  # the newest notes, oldest first
    assert shown.index("noted · n: 249") < shown.index("approved it for prod")
    assert "proposed it" not in shown
    title, where, *lines = blocks(shown)
    assert title == f"*History of {REF}* · page 1 of {pages}"
    assert where == (
        f"_Events {total - SHOWN + 1}–{total} of {total}, oldest first._ `/release history {REF} 2` for older events."
    )
    assert len(lines) == SHOWN
    assert f"(page 1 of {pages})" in json.loads(shown)["text"]


async def test_the_pages_go_back_through_every_event_once(harness: Harness, services: ServiceContext) -> None:
    release_id = await proposed_with_notes(harness, services, 200)
    total = await trail_length(services, release_id)  # the proposal, its status line if any, the notes
    pages = -(-total // SHOWN)
    assert pages == 5

    seen: list[int] = []
    for page in range(pages, 0, -1):  # oldest page first: then the notes come in the order they were written
        shown = await harness.command_answer(f"history {REF} {page}")
        title, where, *_ = blocks(shown)
        assert title == f"*History of {REF}* · page {page} of {pages}"
        if page < pages:
            assert f"`/release history {REF} {page + 1}` for older events." in where
        if page > 1:
            assert f"`/release history {REF} {page - 1}` for newer ones." in where
        seen += notes(shown)

    assert seen == list(range(200))  # every note once, none skipped, none twice
    oldest = await harness.command_answer(f"history {REF} {pages}")
    assert "proposed it" in oldest
    assert f"_Events 1–{total - (pages - 1) * SHOWN} of {total}, oldest first._" in oldest
    assert "for older events" not in oldest


async def test_a_page_past_the_end_says_how_many_there_are(harness: Harness, services: ServiceContext) -> None:
    await proposed_with_notes(harness, services, 100)
    before = await harness.command_answer(f"history {REF} 3")

    past = await harness.command_answer(f"history {REF} 4")

    assert "payments@2.4.0 has 3 pages of history (45 events a page): page 1 is the newest, 3 the oldest" in past
    assert "`/release history payments@2.4.0 3`" in past
    assert await harness.command_answer(f"history {REF} 3") == before  # asking changed nothing
    far = await harness.command_answer(f"history {REF} 999999999")
    assert "has 3 pages of history" in far


async def test_a_short_history_is_one_page_without_paging(harness: Harness, services: ServiceContext) -> None:
    await proposed_with_notes(harness, services, SHOWN - 1)  # with the proposal: exactly 45

    shown = await harness.command_answer(f"history {REF}")

    assert "proposed it" in shown
    assert notes(shown) == list(range(SHOWN - 1))
    assert blocks(shown)[0] == f"*History of {REF}*"
    assert "page" not in shown
    assert "has only one page of history: `/release history payments@2.4.0`" in await harness.command_answer(
        f"history {REF} 2"
    )


@pytest.mark.parametrize(
    ("page", "says"),
    [
        ("0", "`0` is not a page number: page 1 is the newest events, 2 the ones before."),
        ("-1", "`-1` is not a page number"),
        ("two", "`two` is not a page number"),
        ("1234567890", "`1234567890` is not a page number"),
        ("2 3", "Unexpected `3` at the end."),
    ],
)
async def test_a_bad_page_number_is_refused_with_the_usage(harness: Harness, page: str, says: str) -> None:
    answer = await harness.command_answer(f"history {REF} {page}")
    assert says in answer
    assert "Usage: `/release history &lt;service@version&gt; [page]`" in answer
