"""What `shipmate run` writes to its log during a full scenario (the real process, stdout and stderr): no token,
secret or feed token anywhere, no line a request forged, every line one record (a JSON object with
`SHIPMATE_LOG_FORMAT=json`); and an unexpected error is logged once, with the id the person was shown."""

import json
import re
import secrets
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.domain.grammar import releases as cmd
from bot.logs import ContextFilter
from handlers.routes import ROUTES
from tests.conftest import POLICY
from tests.fakes.signing import command_body
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import hook_body, post_hook
from tests.handlers.test_calendar import feed_path
from tests.harness import Harness
from tests.process import AppProcess

FORGED = "2031-01-01 00:00:00,000 ERROR shipmate: FORGED-LINE"
TEXT_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def full_scenario(harness: Harness, webhook_secret: str, metrics_token: str) -> str:
    """Propose, approve, a calendar feed, a CI delivery, a forged and a foreign request, scrapes; the feed token."""
    assert "Proposed" in await harness.command_answer("propose payments 2.5.0 Faster checkout")
    for approver in ("U0BOB", "U0CAROL"):
        assert "You approved" in await harness.command_answer("approve payments@2.5.0", user=approver)
    path = feed_path(await harness.command_answer("calendar link", user="U0RM"))
    assert (await harness.get(path)).status == 200
    delivered = await post_hook(harness, hook_body(), sign_with=webhook_secret)
    assert delivered.status == 201, delivered.text
    forged = command_body(
        f"list\n{FORGED}\r\n", team_id="T0TEAM", user_id="U0EVE", channel_id="C0RELEASE", response_url="http://x/"
    )
    bad = await harness.post_signed(forged, content_type="application/x-www-form-urlencoded", secret="guessed")
    assert bad.status == 401
    assert (await harness.command("list", team_id="T0OTHER")).status == 200  # another workspace: refused, logged
    async with harness.http.get(f"{harness.base_url}/metrics?token={metrics_token}") as response:
        assert response.status == 401  # a token in the query is not how it works, and is not logged either
    async with harness.http.get(
        f"{harness.base_url}/metrics", headers={"Authorization": f"Bearer {metrics_token}"}
    ) as response:
        assert response.status == 200
    await harness.slack.settle(0.3)
    return path.split("token=", 1)[1]


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_a_full_scenario_logs_no_secret_and_no_forged_line(
    fmt: str, database_url: str, slack: FakeSlack, tmp_path: Path, http: ClientSession
) -> None:
    policy = tmp_path / "shipmate.toml"
    policy.write_text(POLICY)
    secret = {
        "SLACK_BOT_TOKEN": f"xoxb-{secrets.token_hex(12)}",
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SHIPMATE_WEBHOOK_SECRET": secrets.token_hex(16),
        "SHIPMATE_METRICS_TOKEN": secrets.token_hex(16),
    }
    env = {**secret, "SHIPMATE_LOG_FORMAT": fmt, "SHIPMATE_DRAIN_SECONDS": "0.2"}
    app = AppProcess(database_url=database_url, slack_url=slack.url, policy=policy, extra_env=env)
    await app.start()
    try:
        harness = Harness(app.base_url, http, slack, secret=secret["SLACK_SIGNING_SECRET"])
        feed_token = await full_scenario(harness, secret["SHIPMATE_WEBHOOK_SECRET"], secret["SHIPMATE_METRICS_TOKEN"])
        assert app.kill(signal.SIGTERM) == 0
        log = app.output()
    finally:
        app.stop()

    for name, value in [*secret.items(), ("feed token", feed_token)]:
        assert value not in log, f"{name} is in the log"
    assert "FORGED-LINE" not in log  # Bolt's verification logger would have written the whole body
    lines = log.splitlines()
    assert len(lines) > 10
    if fmt == "json":
        records = [json.loads(line) for line in lines]  # every line, or this raises
        assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
        messages = [record["message"] for record in records]
        refused = next(r for r in records if r["message"].startswith("refused a /release request from team T0OTHER"))
        assert refused["team"] == "T0OTHER"
        assert re.fullmatch(r"[0-9a-f]{12}", refused["request_id"])
        feed = next(r for r in records if r.get("path") == "/calendar.ics")
        assert (feed["status"], feed["http_method"]) == (200, "GET")
    else:
        assert all(TEXT_RECORD.match(line) or line.startswith("    ") for line in lines), log
        messages = lines
        assert any(
            re.search(r"refused a /release request from team T0OTHER.*\[team=T0OTHER request_id=", m) for m in lines
        )
        assert any('"GET /calendar.ics" 200' in line for line in lines)
    assert any("policy in force: " + str(policy) + " (SHIPMATE_POLICY)" in m for m in messages)
    assert any("SIGTERM: handing over" in m for m in messages)


async def test_an_unexpected_error_is_logged_once_with_the_id_the_person_saw(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: Any) -> dict[str, Any]:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setitem(ROUTES, cmd.Show, broken)
    caplog.handler.addFilter(ContextFilter())  # as `bot.logs.configure` does for the process's handler
    with caplog.at_level("INFO"):
        answer = await harness.command_answer("show payments@1.0.0", user="U0ALICE")
    found = re.search(r"error id `([0-9a-f]{8})`", answer)
    assert found, answer
    incident = found.group(1)
    mentioning = [r for r in caplog.records if incident in r.getMessage() or getattr(r, "error_id", None) == incident]
    assert len(mentioning) == 1
    [record] = mentioning
    assert record.levelname == "ERROR"
    assert record.exc_info is not None
    assert "the disk is on fire" in str(record.exc_info[1])
    assert (getattr(record, "error_id", None), getattr(record, "release", None)) == (incident, "payments@1.0.0")
    assert getattr(record, "team", None) == "T0TEAM"
    assert re.fullmatch(r"[0-9a-f]{12}", str(getattr(record, "request_id", "")))
