"""Many workspaces: installed through Bolt's OAuth flow against the fake Slack, tokens sealed at rest, and every
message to Slack sent with its own workspace's token."""

from bot.server import Runtime
from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness
from tests.workspaces.support import command, install, stored


async def test_the_install_link_sends_people_to_slack_with_a_state(harness: Harness) -> None:
    async with harness.http.get(harness.base_url + "/slack/install", allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith("https://slack.com/oauth/v2/authorize?state=")
    assert "client_id=1111.2222" in location
    assert location.endswith("redirect_uri=https://shipmate.example.com/slack/oauth_redirect")


async def test_two_workspaces_install_and_each_gets_its_own_token(
    harness: Harness, slack: FakeSlack, database_url: str
) -> None:
    assert (await install(harness, "T0AAA")).status == 200
    assert (await install(harness, "T0BBB")).status == 200

    await command(harness, "propose payments 2.4.0 Faster checkout", team_id="T0AAA")
    await command(harness, "propose billing 1.0.0 Invoices", team_id="T0BBB")
    posts = await slack.wait_for("chat.postMessage", count=2)
    by_text = {("payments" in post.text_everywhere): post.token for post in posts}
    assert slack.tokens[by_text[True]].team_id == "T0AAA"
    assert slack.tokens[by_text[False]].team_id == "T0BBB"

    rows = await stored(database_url, "SELECT team_id, bot_token FROM slack_bots ORDER BY team_id")
    assert [row[0] for row in rows] == ["T0AAA", "T0BBB"]
    for _team, sealed in rows:  # at rest: sealed, never the token
        assert str(sealed).startswith("fernet:")
        assert "xoxb" not in str(sealed)


async def test_a_code_without_its_state_installs_nothing(harness: Harness, slack: FakeSlack, database_url: str) -> None:
    slack.grant("stolen", "T0AAA")
    answer = await harness.get("/slack/oauth_redirect?code=stolen&state=forged")
    assert answer.status == 400
    assert slack.of("oauth.v2.access") == []
    assert await stored(database_url, "SELECT count(*) FROM slack_installations") == [(0,)]


async def test_a_workspace_that_never_installed_is_not_served(harness: Harness, slack: FakeSlack) -> None:
    await install(harness, "T0AAA")
    answer = await harness.command("status", team_id="T0ZZZ")
    assert slack.posts() == []
    assert answer.status == 200
    assert "T0ZZZ" not in str(slack.tokens.values())


async def test_rotating_tokens_are_refreshed_before_they_expire(
    harness: Harness, runtime: Runtime, slack: FakeSlack, database_url: str
) -> None:
    runtime.clients.rotation_minutes = 24 * 60  # every 12-hour token counts as about to expire
    assert (await install(harness, "T0AAA", rotating=True)).status == 200
    first = slack.tokens_of("T0AAA")
    await command(harness, "propose payments 2.4.0 Faster checkout", team_id="T0AAA")

    card = (await slack.wait_for("chat.postMessage"))[0]
    refreshes = [c for c in slack.of("oauth.v2.access") if c.get("grant_type") == "refresh_token"]
    assert refreshes
    assert card.token.startswith("xoxe.xoxb-")
    assert card.token not in first  # sent with a refreshed token, the one the store now holds
    rows = await stored(database_url, "SELECT bot_token, bot_refresh_token, bot_token_expires_at FROM slack_bots")
    assert all(str(token).startswith("fernet:") and str(refresh).startswith("fernet:") for token, refresh, _ in rows)
    assert all(expires is not None for _token, _refresh, expires in rows)


async def test_an_install_link_is_good_for_ten_minutes(runtime: Runtime) -> None:
    flow = runtime.bolt.oauth_flow
    assert flow is not None
    assert flow.settings.state_store.expiration_seconds == 600  # type: ignore[attr-defined]
    assert flow.settings.state_expiration_seconds == 600
