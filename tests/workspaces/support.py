"""Many workspaces in tests: settings for an OAuth-installed Shipmate, installing through the OAuth flow the way a
browser does (GET /slack/install, Slack's consent, GET /slack/oauth_redirect with the state cookie), and commands
from a given workspace (and enterprise)."""

import itertools
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.signing import command_payload, event_payload
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_oauth import CLIENT_ID, CLIENT_SECRET
from tests.harness import Answer, Harness

KEY = Fernet.generate_key().decode()
_codes = itertools.count(1)


def many_settings(database_url: str, slack: FakeSlack, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "",
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "shipmate_encryption_key": KEY,
        "shipmate_public_url": "https://shipmate.example.com",
    }
    values.update(overrides)
    return make_settings(database_url, slack, **values)


async def install(
    harness: Harness,
    team_id: str | None,
    *,
    enterprise_id: str | None = None,
    org_wide: bool = False,
    rotating: bool = False,
) -> Answer:
    """Someone clicks "Add to Slack", then Allow: Shipmate gets the code back with the state it issued."""
    code = f"code-{next(_codes)}"
    harness.slack.grant(code, team_id, enterprise_id=enterprise_id, org_wide=org_wide, rotating=rotating)
    async with harness.http.get(harness.base_url + "/slack/install", allow_redirects=False) as started:
        assert started.status == 302, await started.text()
        consent = urlparse(started.headers["Location"])
        state = parse_qs(consent.query)["state"][0]
        cookie = started.cookies["slack-app-oauth-state"].value
    query = urlencode({"code": code, "state": state})
    async with harness.http.get(
        f"{harness.base_url}/slack/oauth_redirect?{query}",
        headers={"Cookie": f"slack-app-oauth-state={cookie}"},
        allow_redirects=False,
    ) as finished:
        return Answer(finished.status, await finished.text(), finished.headers)


async def command(
    harness: Harness, text: str, *, team_id: str, enterprise_id: str | None = None, user: str = "U0ALICE"
) -> dict[str, Any]:
    """A slash command from one workspace; the answer the person saw."""
    payload = command_payload(
        text,
        team_id=team_id,
        user_id=user,
        channel_id="C0RELEASE",
        response_url=harness.slack.response_url(f"{team_id}-{next(_codes)}"),  # URL-safe: the target is matched
    )
    if enterprise_id:  # Slack sends these from a workspace of an organisation that installed the app org-wide
        payload |= {"enterprise_id": enterprise_id, "enterprise_name": "Org", "is_enterprise_install": "true"}
    answer = await harness.deliver("slash_commands", payload)
    answer.reply_to = payload["response_url"].rsplit("/", 1)[-1]
    return await harness.reply(answer)


async def stored(database_url: str, sql: str) -> list[tuple[object, ...]]:
    """What the database holds, read past the app (one query)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(sql))]
    finally:
        await engine.dispose()


async def uninstall(
    harness: Harness, team_id: str, *, enterprise_id: str | None = None, org_wide: bool = False
) -> Answer:
    """What Slack sends when a workspace (or an organisation) removes the app."""
    harness.slack.revoke(None if org_wide else team_id, enterprise_id=enterprise_id)
    payload = event_payload({"type": "app_uninstalled"}, team_id=team_id, event_id=f"Ev{next(_codes):08d}")
    payload["authorizations"] = []
    if enterprise_id:
        payload["enterprise_id"] = enterprise_id
    if org_wide:
        payload["is_enterprise_install"] = True
    return await harness.deliver("events_api", payload)
