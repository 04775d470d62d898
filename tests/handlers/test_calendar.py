"""Planned windows over signed HTTP: conflicts at proposal, on scheduling and on the calendar; the ICS feed."""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bot.ids import BlockId, CallbackId
from tests.conftest import POLICY
from tests.fakes.slack_api import Call
from tests.harness import COORDINATION, STAKEHOLDERS, Harness, select_input, text_input

SERVICE_CHANNEL = "C0PAYSTAKE"


@pytest.fixture
def policy_text() -> str:
    return POLICY + f'\n[services.payments]\nchannel = "{SERVICE_CHANNEL}"\n'


def feed_path(answer: str) -> str:
    found = re.search(r"/calendar\.ics\?token=[A-Za-z0-9_-]{40,}", answer)
    assert found, answer
    return found.group(0)


def _planned_release_in(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.get("channel") == channel and "planned release" in call.text_everywhere


def tuesday_ahead() -> datetime:
    """A Tuesday 10:00 UTC at least a week ahead: clear of any weekend, whatever today is."""
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=7)
    return day + timedelta(days=(1 - day.weekday()) % 7)


async def propose_with_window(harness: Harness, service: str, version: str, start: datetime, length: str) -> None:
    values = {
        BlockId.SERVICE: text_input(service),
        BlockId.VERSION: text_input(version),
        BlockId.SUMMARY: text_input(f"{service} {version} for customers"),
        BlockId.RISK: select_input("high"),
        BlockId.WINDOW_START: {"input": {"type": "datetimepicker", "selected_date_time": int(start.timestamp())}},
        BlockId.WINDOW_HOURS: text_input(length),
    }
    answer = await harness.submit_view(
        CallbackId.PROPOSE,
        {str(k): v for k, v in values.items()},
        user="U0ALICE",
        private_metadata=json.dumps({"channel_id": COORDINATION}),
    )
    assert answer.status == 200, answer.text
    assert answer.text.strip() == "", answer.text


async def test_overlapping_prod_windows_are_flagged_at_proposal_and_on_the_calendar(harness: Harness) -> None:
    start = tuesday_ahead()
    await propose_with_window(harness, "payments", "2.4.0", start, "2h")
    first = await harness.slack.wait_for("chat.postEphemeral")
    assert "clashes" not in first[0]["text"]

    await propose_with_window(harness, "billing", "1.2.0", start + timedelta(hours=1), "2h")
    answers = await harness.slack.wait_for("chat.postEphemeral", count=2)
    assert "billing@1.2.0* overlaps *payments@2.4.0* in prod" in answers[1]["text"]
    thread = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("thread_ts") is not None and "clashes" in c.text_everywhere
    )
    assert "payments@2.4.0" in thread[0].text_everywhere

    shown = await harness.command_answer("calendar 30")
    assert "1 conflict to resolve" in shown
    assert "payments@2.4.0* overlaps *billing@1.2.0*" in shown
    assert "billing@1.2.0* overlaps *payments@2.4.0*" in shown
    assert f"<!date^{int(start.timestamp())}^" in shown  # each reader sees their own time zone

    apart = await harness.command_answer("schedule billing@1.2.0 " + (start + timedelta(hours=4)).isoformat())
    assert "is planned for" in apart
    assert "clashes" not in apart
    calm = await harness.command_answer("calendar 30")
    assert "No conflicts" not in calm
    assert "conflict" not in calm


async def test_schedule_tells_the_thread_stakeholders_and_subscribers(harness: Harness) -> None:
    assert "You follow *payments*" in await harness.command_answer("subscribe payments", user="U0SUB")
    assert "already follow" in await harness.command_answer("subscribe payments", user="U0SUB")
    await harness.command_answer("propose payments 2.4.0 Faster checkout <!here>")
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == COORDINATION)
    await harness.command_answer("approve payments@2.4.0", user="U0BOB")

    refused = await harness.command_answer("schedule payments@2.4.0 +2d 2h", user="U0BOB")
    assert "Only the proposer (<@U0ALICE>) or a release manager" in refused
    when = tuesday_ahead()
    answer = await harness.command_answer(f"schedule payments@2.4.0 {when:%Y-%m-%dT%H:%M} 2h")
    assert "is planned for" in answer
    assert "<@U0BOB>" in answer  # his approval starts over

    for channel in (STAKEHOLDERS, SERVICE_CHANNEL, "U0SUB"):
        posts = await harness.slack.wait_for("chat.postMessage", _planned_release_in(channel))
        text = posts[0].text_everywhere
        assert "What changes" in text
        assert "Risk" in text
        assert "&lt;!here&gt;" in text
        assert "<!here>" not in text
    await harness.slack.wait_for("chat.postMessage", lambda c: "approvals start over" in c.text_everywhere)

    same = await harness.command_answer(f"schedule payments@2.4.0 {when:%Y-%m-%dT%H:%M} 2h")
    assert "nothing changed" in same
    assert "in the past" in await harness.command_answer("schedule payments@2.4.0 2020-01-01T10:00")
    assert "no longer follow" in await harness.command_answer("unsubscribe payments", user="U0SUB")
    assert "were not following" in await harness.command_answer("unsubscribe payments", user="U0SUB")


async def test_subscribers_get_a_direct_message_when_a_release_is_approved(harness: Harness) -> None:
    await harness.command_answer("subscribe payments", user="U0SUB")
    await harness.command_answer("propose payments 2.4.0 Faster checkout")
    await harness.command_answer("approve payments@2.4.0", user="U0BOB")
    await harness.command_answer("approve payments@2.4.0", user="U0CAROL")
    dm = await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == "U0SUB")
    assert "approved for *prod*" in dm[0].text_everywhere
    assert "What changes" in dm[0].text_everywhere
    await harness.slack.wait_for("chat.postMessage", lambda c: c.get("channel") == SERVICE_CHANNEL)


async def test_calendar_feed_holds_the_windows_and_freezes(harness: Harness) -> None:
    start = tuesday_ahead()
    await propose_with_window(harness, "payments", "2.4.0", start, "2h")
    await propose_with_window(harness, "billing", "1.2.0", start + timedelta(hours=1), "30m")
    await harness.command_answer("freeze prod +1h +3h quarter close", user="U0RM")

    assert "Only release managers" in await harness.command_answer("calendar link", user="U0ALICE")
    answer = await harness.command_answer("calendar link", user="U0RM")
    path = feed_path(answer)
    feed = await harness.get(path)
    assert feed.status == 200
    calendar = Calendar.from_ical(feed.text)
    events = {str(event["summary"]): event for event in calendar.walk("VEVENT")}
    payments = events["Release payments@2.4.0 (prod)"]
    assert payments.decoded("dtstart") == start
    assert payments.decoded("dtend") == start + timedelta(hours=2)
    assert events["Release billing@1.2.0 (prod)"].decoded("dtend") == start + timedelta(hours=1, minutes=30)
    assert "Freeze: prod (quarter close)" in events
    assert "Risk: high" in str(payments["description"])

    newer = await harness.command_answer("calendar link", user="U0RM")
    assert (await harness.get(path)).status == 403
    new_path = feed_path(newer)
    assert (await harness.get(new_path)).status == 200
    assert (await harness.get("/calendar.ics?token=nonsense")).status == 404
    assert (await harness.get("/calendar.ics")).status == 404
