"""`POST /hooks/alerts` when Shipmate serves many workspaces: the receiver's URL names the workspace (`?team=`), which
must be one Shipmate is installed in; without it the alert is refused with how to fix the URL, and nothing is kept."""

import json

import pytest

from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.alert_steps import ALERTS_TOKEN, alertmanager
from tests.harness import Answer, Harness
from tests.workspaces.support import install, many_settings, stored

A, B = "T0AAA", "T0BBB"


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return many_settings(database_url, slack, shipmate_alerts_token=ALERTS_TOKEN)


async def post(harness: Harness, query: str) -> Answer:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ALERTS_TOKEN}"}
    body = json.dumps(alertmanager(name="HighErrorRate")).encode()
    async with harness.http.post(
        f"{harness.base_url.rstrip('/')}/hooks/alerts{query}", data=body, headers=headers
    ) as response:
        return Answer(response.status, await response.text(), response.headers)


async def test_the_alerts_url_names_an_installed_workspace(harness: Harness, database_url: str) -> None:
    await install(harness, A)
    await install(harness, B)

    unnamed = await post(harness, "")
    assert unnamed.status == 422
    assert unnamed.json["error"] == "invalid_input"
    assert "/hooks/alerts?team=<team_id>" in unnamed.json["message"]

    stranger = await post(harness, "?team=T0NOPE")
    assert stranger.status == 403
    assert stranger.json["error"] == "team_mismatch"
    assert await stored(database_url, "SELECT count(*) FROM alerts") == [(0,)]

    named = await post(harness, f"?team={A}")
    assert named.status == 202
    assert named.json["ok"] is True
    teams = await stored(database_url, "SELECT DISTINCT team_id FROM alerts")
    assert teams in ([], [(A,)])  # kept for A only (nothing of the service is live, so it may be counted and dropped)
