"""Deploy locks over signed HTTP: taking, listing and lifting one, who may lift it, and a lock as a gate for the
deploy command and button (the holder passes, anyone else is refused with the holder, the end and the reason)."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.ids import ActionId
from bot.settings import Settings
from storage.db import Database
from storage.models import AuditEvent
from storage.repositories import releases as releases_repo
from tests.conftest import POLICY
from tests.handlers.deploy_steps import propose_and_approve
from tests.handlers.test_calendar import feed_path
from tests.handlers.test_home import open_home
from tests.harness import Harness

LOCKS = """
[locks]
default = "2h"
max = "24h"
bypass = ["U0INCIDENT"]
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY + LOCKS


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


async def _release_id(db: Database, team_id: str) -> int:
    async with db.read() as session:
        release = await releases_repo.get(session=session, team_id=team_id, service="payments", version="2.4.0")
    assert release is not None
    return release.pk


async def test_a_lock_refuses_everyone_but_its_holder_until_it_is_lifted(harness: Harness) -> None:
    await propose_and_approve(harness, "payments@2.4.0")
    taken = await harness.command_answer("lock payments dev migrating the ledger <!channel> for 3h", user="U0BOB")
    assert "You locked payments dev until" in taken
    assert "&lt;!channel&gt;" in taken
    assert "<!channel>" not in taken

    refused = await harness.command_answer("deploy payments@2.4.0 dev", user="U0ALICE")
    assert "payments dev is locked by <@U0BOB> until" in refused
    assert f'"action_id": "{ActionId.LOCK_QUEUE}", "value": "payments dev payments@2.4.0"' in refused
    assert "migrating the ledger &lt;!channel&gt;" in refused
    assert "<!channel>" not in refused

    listed = await harness.command_answer("locks", user="U0CAROL")
    assert "payments dev" in listed
    assert "<@U0BOB>" in listed
    assert "migrating the ledger" in listed

    # Dev lists no deployers: anyone may deploy there, so anyone may lift its locks. Prod is stricter.
    prod = await harness.command_answer("lock payments prod hands off", user="U0BOB")
    assert "You locked payments prod" in prod
    not_yours = await harness.command_answer("unlock payments prod", user="U0ALICE")
    assert "Only its holder (<@U0BOB>), approvers of prod" in not_yours
    assert "may lift the lock of payments prod" in not_yours
    lifted = await harness.command_answer("unlock payments prod", user="U0RM")
    assert "You lifted the lock of payments prod held by <@U0BOB>" in lifted

    mine = await harness.command_answer("deploy payments@2.4.0 dev", user="U0BOB")
    assert "is live in *dev*" in mine, mine
    again = await harness.command_answer("unlock payments dev", user="U0BOB")
    assert "You lifted the lock of payments dev" in again
    gone = await harness.command_answer("unlock payments dev", user="U0BOB")
    assert "payments dev is not locked" in gone


async def test_bad_lock_commands_say_how_to_fix_them_and_change_nothing(harness: Harness) -> None:
    assert "Missing the reason" in await harness.command_answer("lock payments prod", user="U0BOB")
    assert "at most 24h" in await harness.command_answer("lock payments prod release for 3d", user="U0BOB")
    assert "not an environment" in await harness.command_answer("lock payments moon release", user="U0BOB")
    assert "Only approvers of prod" in await harness.command_answer("lock payments prod release", user="U0ALICE")
    assert "No deploy locks" in await harness.command_answer("locks", user="U0BOB")


async def test_the_deploy_button_meets_the_lock_too(harness: Harness, db: Database) -> None:
    await propose_and_approve(harness, "payments@2.4.0")
    await harness.command_answer("lock * dev incident 7", user="U0BOB")
    release_id = await _release_id(db, harness.team_id)
    clicked = await harness.click_answer(str(ActionId.DEPLOY_NEXT), f"{release_id}:dev", user="U0ALICE")
    assert "every service in dev is locked by <@U0BOB>" in clicked["text"]
    assert "incident 7" in clicked["text"]
    [queue] = [e for b in clicked["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (queue["action_id"], queue["value"]) == (ActionId.LOCK_QUEUE, "* dev payments@2.4.0")
    queued = await harness.click_answer(ActionId.LOCK_QUEUE, queue["value"], user="U0ALICE")
    assert "You are number 1 in the queue" in queued["text"]
    again = await harness.click_answer(ActionId.LOCK_QUEUE, queue["value"], user="U0ALICE")  # a double click
    assert "You are already number 1 in the queue" in again["text"]
    assert "Queue: <@U0ALICE>" in await harness.command_answer("locks", user="U0BOB")
    stale = await harness.click_answer(ActionId.LOCK_QUEUE, "payments", user="U0ALICE")
    assert "That button is out of date" in stale["text"]
    # `[locks] bypass` goes through an all-services lock, and the history says so.
    through = await harness.command_answer("deploy payments@2.4.0 dev", user="U0INCIDENT")
    assert "is live in *dev*" in through, through
    async with db.read() as session:
        events = (await session.exec(select(AuditEvent).where(AuditEvent.release_id == release_id))).all()
    assert [event.details["holder"] for event in events if event.action == "lock_bypassed"] == ["U0BOB"]
    history = await harness.command_answer("history payments@2.4.0", user="U0BOB")
    assert "deployed it to dev through the all-services lock of <@U0BOB> (`[locks] bypass`)" in history


async def test_a_rollback_goes_through_a_lock(harness: Harness) -> None:
    for ref in ("payments@2.4.0", "payments@2.5.0"):
        await propose_and_approve(harness, ref)
        assert "is live in *dev*" in await harness.command_answer(f"deploy {ref} dev", user="U0ALICE")
    assert "You locked" in await harness.command_answer("lock * dev incident 9", user="U0BOB")
    rolled = await harness.command_answer("rollback payments dev it broke", user="U0RM")
    assert "Rolled back *dev*: payments 2.5.0 → *2.4.0*" in rolled


async def test_app_home_shows_a_persons_locks_and_queue_places(harness: Harness) -> None:
    assert "You locked" in await harness.command_answer("lock payments dev ledger <b>move</b>", user="U0BOB")
    assert "number 1 in the queue" in await harness.command_answer("lock payments dev hotfix", user="U0CAROL")
    bob = (await open_home(harness, "U0BOB")).text_everywhere
    assert "Your deploy locks" in bob
    assert "*payments dev* is yours until" in bob
    assert "ledger &lt;b&gt;move&lt;/b&gt;" in bob
    carol = (await open_home(harness, "U0CAROL")).text_everywhere
    assert "Number 1 in the queue for *payments dev*" in carol
    assert "Your deploy locks" not in (await open_home(harness, "U0ERIN")).text_everywhere


async def test_the_calendar_feed_shows_locks_as_busy_blocks(harness: Harness) -> None:
    assert "You locked" in await harness.command_answer("lock payments prod ledger for 3h", user="U0BOB")
    assert "You locked" in await harness.command_answer("lock * dev incident", user="U0BOB")
    assert "You lifted" in await harness.command_answer("unlock * dev", user="U0BOB")
    feed = await harness.get(feed_path(await harness.command_answer("calendar link", user="U0RM")))
    assert feed.status == 200
    events = {str(event["summary"]): event for event in Calendar.from_ical(feed.text).walk("VEVENT")}
    held = events["Locked: payments prod (U0BOB)"]
    assert held.decoded("dtend") - held.decoded("dtstart") == timedelta(hours=3)
    assert str(held["transp"]) == "OPAQUE"
    assert "ledger" in str(held["description"])
    lifted = events["Locked: every service in dev (U0BOB)"]
    assert lifted.decoded("dtend") - lifted.decoded("dtstart") < timedelta(minutes=1)  # until it was lifted


async def test_two_people_locking_at_once_are_one_holder_and_one_in_the_queue(harness: Harness) -> None:
    answers = await asyncio.gather(
        *(harness.command_answer("lock payments prod release train", user=user) for user in ("U0BOB", "U0CAROL"))
    )
    assert sorted("You locked" in answer for answer in answers) == [False, True]
    assert sum("You are number 1 in the queue" in answer for answer in answers) == 1
