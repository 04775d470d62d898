"""`/release metrics` over a history made through the real flows (commands and the CI webhook) on a clock the test
moves: the four numbers come out exactly, the chart is a real PNG uploaded the way files_upload_v2 does it and
shown in an image block, and the words arrive even when the chart cannot."""

import json
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.policy import Policy
from bot.server import SERVICES, create_app
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack, Fault
from tests.handlers.deploy_steps import hook_body, post_hook
from tests.handlers.test_home import open_home
from tests.harness import Harness
from tests.servers import serve

# The history runs on the app's clock in the future: jobs it plans (review prompts) stay unclaimed by the real-time
# scheduler meanwhile, as they would be in a real month.
T0 = (datetime.now(UTC) + timedelta(days=60)).replace(hour=0, minute=0, second=0, microsecond=0)
H = timedelta(hours=1)
D = timedelta(days=1)

POLICY = """
release_managers = ["U0RM"]

[slack]
coordination_channel = "C0RELEASE"
stakeholder_channel = "C0STAKE"

[[environments]]
name = "qa"

[[environments]]
name = "prod"
"""


@pytest.fixture
def policy_text() -> str:
    return POLICY


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def app(settings: Settings, policy: Policy, slack: FakeSlack) -> AsyncIterator[tuple[Harness, Clock]]:
    application = create_app(settings, policy)
    clock = Clock(T0)
    application[SERVICES].now = clock
    async with serve(application, slack) as harness:
        yield harness, clock


async def run(harness: Harness, clock: Clock, at: timedelta, command: str, expect: str, user: str = "U0ALICE") -> None:
    clock.at = T0 + at
    answer = await harness.command_answer(command, user=user)
    assert expect in answer, answer


async def hook(harness: Harness, clock: Clock, at: timedelta, **fields: Any) -> None:
    clock.at = T0 + at
    answer = await post_hook(harness, hook_body(**fields), at=clock.at.timestamp())  # signed on the app's clock
    assert answer.status == 201, answer.text


async def history(harness: Harness, clock: Clock) -> None:
    """payments: 1.0 by hand (lead 2 h from its proposal); 1.1 by CI with a commit 4 h before its proposal day
    (lead 6 h), then rolled back; 1.2 (lead 2 h), then its prod sign-off fails; 1.3 (lead 4 h), the first good
    deployment after both failures: it restores 1.1 after 50 h and 1.2 after 26 h."""
    await run(harness, clock, 0 * H, "propose payments 1.0 Saved cards", "Proposed")
    await run(harness, clock, 1 * H, "deploy payments@1.0 qa", "is live in *qa*")
    await run(harness, clock, 2 * H, "deploy payments@1.0 prod", "is live in *prod*")
    await run(harness, clock, D, "propose payments 1.1 Faster checkout", "Proposed")
    commit = (T0 + D - 4 * H).isoformat()
    await hook(harness, clock, D + H, version="1.1", environment="qa", delivery_id="r11-qa", commit_at=commit)
    await hook(harness, clock, D + 2 * H, version="1.1", environment="prod", delivery_id="r11-prod")
    await run(harness, clock, D + 3 * H, "rollback payments prod checkout errors", "Rolled back")
    await run(harness, clock, 2 * D, "propose payments 1.2 Fix checkout", "Proposed")
    await run(harness, clock, 2 * D + H, "deploy payments@1.2 qa", "is live in *qa*")
    await run(harness, clock, 2 * D + 2 * H, "deploy payments@1.2 prod", "is live in *prod*")
    verify = "verify payments@1.2 prod failed smoke tests red"
    await run(harness, clock, 2 * D + 3 * H, verify, "*failed*", user="U0QA")  # never the proposer's own sign-off
    await run(harness, clock, 3 * D, "propose payments 1.3 Fix the fix", "Proposed")
    await run(harness, clock, 3 * D + H, "deploy payments@1.3 qa", "is live in *qa*")
    await run(harness, clock, 3 * D + 4 * H, "deploy payments@1.3 prod", "is live in *prod*")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_the_four_numbers_and_the_chart(app: tuple[Harness, Clock]) -> None:
    """4 deployments in 30 days: 0.9 a week (medium). Leads 2, 6, 2, 4 h: median 3 h, p90 4 + 0.7 × 2 = 5.4 h
    (elite). 2 of 4 failed: 50 % (low). Restores 50 h and 26 h: median 38 h (medium)."""
    harness, clock = app
    await history(harness, clock)
    clock.at = T0 + 10 * D
    answer = await harness.command("metrics payments", reply_to="metrics")
    assert answer.status == 200
    body = (await harness.slack.wait_for("response_url", lambda c: c.target == "metrics"))[0].params
    fields = [field["text"] for field in body["blocks"][1]["fields"]]
    assert fields == [
        "*Deployment frequency*\n0.9/week · 🟡 medium\n_4 to production in 30 days_",
        "*Lead time for changes*\nmedian 3.0 h · 🟢 elite\n_p90 5.4 h_",
        "*Change failure rate*\n50% · 🔴 low\n_2 of 4 rolled back or failed verification_",
        "*Time to restore*\nmedian 38.0 h · 🟡 medium\n_2 restored_",
    ]
    assert "payments · prod · last 30 days" in body["text"]
    assert "nothing to compare with before" in body["blocks"][2]["elements"][0]["text"]
    assert "2024 Accelerate State of DevOps Report" in json.dumps(body)

    image = next(block for block in body["blocks"] if block["type"] == "image")
    file_id = image["slack_file"]["id"]
    upload = harness.slack.completed_files()[file_id]
    assert upload.data is not None
    assert len(upload.data) > 10_000  # a drawn chart, not a placeholder
    assert png_size(upload.data) == (800, 400)
    assert upload.filename.endswith(".png")
    # weeks run back from T0+10d: 1.0-1.2 fall in the week from T0-4d, 1.3 in the one from T0+3d
    first, second = (T0 - 4 * D).strftime("%d %b"), (T0 + 3 * D).strftime("%d %b")
    weeks = f"{first}: 3 deployments (2 failed), median lead time 2.0 h; {second}: 1 deployment, median"
    assert weeks in image["alt_text"]
    assert image["alt_text"] == upload.alt_txt
    upload_calls = [c.method for c in harness.slack.calls if c.method.startswith("files.") or c.method == "upload"]
    assert upload_calls == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    complete = harness.slack.of("files.completeUploadExternal")[0]
    assert not complete.get("channel_id")  # shared nowhere: it is shown in the answer only

    workspace = await harness.command_answer("metrics 7")  # [T0+3d, T0+10d): 1.3 only; the week before had 3
    assert "All services · prod · last 7 days" in workspace
    assert "1 to production in 7 days" in workspace
    assert "deployment frequency ▼ from 3.0/week (worse)" in workspace


async def test_the_numbers_arrive_when_the_upload_fails(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    await run(harness, clock, 0 * H, "propose payments 1.0 Saved cards", "Proposed")
    await run(harness, clock, 1 * H, "deploy payments@1.0 qa", "is live in *qa*")
    await run(harness, clock, 5 * H, "deploy payments@1.0 prod", "is live in *prod*")
    harness.slack.fail("files.getUploadURLExternal", Fault(status=500, times=5))
    clock.at = T0 + D
    answer = await harness.command_answer("metrics payments 30")
    assert "median 5.0 h" in answer
    assert '"image"' not in answer


async def test_the_words_go_out_again_when_slack_cannot_show_the_chart_yet(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    await run(harness, clock, 0 * H, "propose payments 1.0 Saved cards", "Proposed")
    harness.slack.files_visible = False  # uploaded, but Slack refuses it in blocks ("invalid slack file")
    await harness.command("metrics", reply_to="twice")
    sent = await harness.slack.wait_for("response_url", lambda c: c.target == "twice", count=2)
    assert [any(b["type"] == "image" for b in call["blocks"]) for call in sent] == [True, False]
    assert "Deployment frequency" in sent[1].text_everywhere
    assert harness.slack.invalid  # the refused one
    harness.slack.invalid.clear()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("metrics paymnts", "There are no releases of paymnts"),
        ("metrics payments 0", "0 is not a number of days between 1 and 365"),
        ("metrics payments 400", "400 is not a number of days between 1 and 365"),
        ("metrics 30 payments", "Say the service first"),
        ("metrics Payments!", "is not a service name"),
        ("metrics payments 30 extra", "Unexpected `extra`"),
    ],
)
async def test_wrong_requests_name_the_fix(app: tuple[Harness, Clock], text: str, shown: str) -> None:
    harness, clock = app
    await run(harness, clock, 0 * H, "propose payments 1.0 Saved cards", "Proposed")
    answer = await harness.command_answer(text)
    assert shown in answer
    assert "files.getUploadURLExternal" not in [c.method for c in harness.slack.calls]


async def test_a_commit_time_from_the_future_is_refused(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    await run(harness, clock, 0 * H, "propose payments 1.0 Saved cards", "Proposed")
    later = (T0 + H).isoformat()
    signed_at = clock.at.timestamp()
    answer = await post_hook(harness, hook_body(version="1.0", environment="qa", commit_at=later), at=signed_at)
    assert answer.status == 422
    assert answer.json["details"][0]["field"] == "commit_at"
    naive_time = hook_body(version="1.0", environment="qa", commit_at="2026-03-01T10:00:00", delivery_id="naive")
    naive = await post_hook(harness, naive_time, at=signed_at)
    assert naive.status == 422


async def test_app_home_shows_the_workspace_measures_in_one_compact_section(app: tuple[Harness, Clock]) -> None:
    harness, clock = app
    await run(harness, clock, 0 * H, "propose payments 1.0 Saved cards", "Proposed")
    await run(harness, clock, 1 * H, "deploy payments@1.0 qa", "is live in *qa*")
    await run(harness, clock, 5 * H, "deploy payments@1.0 prod", "is live in *prod*")
    clock.at = T0 + D
    view = (await open_home(harness, "U0BOB"))["view"]
    sections = [block for block in view["blocks"] if "fields" in block]
    assert len(sections) == 1
    assert sections[0]["text"]["text"].startswith("*Delivery, last 30 days* · every service in production")
    assert [field["text"] for field in sections[0]["fields"]] == [
        "*Deployment frequency*\n0.2/week · 🟡 medium\n_1 to production in 30 days_",
        "*Lead time for changes*\nmedian 5.0 h · 🟢 elite\n_p90 5.0 h_",
        "*Change failure rate*\n0% · 🟢 elite\n_0 of 1 rolled back or failed verification_",
        "*Time to restore*\nno failures · no level yet\n_failed deployment to the next good one_",
    ]
    assert not harness.slack.of("files.getUploadURLExternal")  # App Home draws no chart
