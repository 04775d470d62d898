"""The web board through the real app: Sign in with Slack against the fake Slack (authorize, openid.connect.token,
openid.connect.userInfo), the session cookie's flags, what each workspace sees, and every way in that must fail."""

import asyncio
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession

from bot.services import board as board_service
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from bot.web.session import SESSION_COOKIE, STATE_COOKIE, Identity, Signer
from tests.conftest import make_settings
from tests.fakes.slack_api import TEAM_ID, FakeSlack, Fault
from tests.fakes.slack_openid import CLIENT_ID, CLIENT_SECRET
from tests.harness import Harness
from tests.web.board_steps import OURS, PUBLIC_URL, THEIRS, Visitor, Workspace, seed


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(
        database_url,
        slack,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        shipmate_public_url=PUBLIC_URL + "/",
    )


@pytest.fixture
async def visitor(harness: Harness, database_url: str) -> AsyncIterator[Visitor]:
    await seed(database_url, OURS)
    await seed(database_url, THEIRS)
    async with ClientSession() as http:
        yield Visitor(http, harness.base_url)


async def test_a_person_signs_in_with_slack_and_sees_their_workspace_only(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE", "Alice", "Acme")
    status, _, headers = await visitor.sign_in()
    assert (status, headers["Location"]) == (303, "/board")

    asked = harness.slack.openid.authorizations[-1]
    assert asked["scope"] == "openid profile"
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == PUBLIC_URL + "/board/callback"
    assert len(asked["state"]) >= 20
    assert len(asked["nonce"]) >= 20
    assert asked["state"] != asked["nonce"]
    assert [call.method for call in harness.slack.calls if call.method.startswith("openid")] == [
        "openid.connect.token",
        "openid.connect.userInfo",
    ]

    status, html, headers = await visitor.get("/board")
    assert status == 200, html
    assert headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no script at all
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    for word in OURS.words:
        assert word in html, word
    for word in THEIRS.words:
        assert word not in html, word
    assert "payments@1.1.0" in html
    assert "Deploy to qa" in html  # in flight, live in dev: its next step
    assert "payments-web@3.2.0" in html
    assert "Deploy to dev" in html  # proposed, nowhere yet
    assert "entry window conflict" in html  # its window falls in the freeze
    assert "Acme" in html
    assert "Alice" in html


async def test_the_session_cookie_is_signed_httponly_secure_lax_and_expires(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    await visitor.sign_in()
    state = next(c[STATE_COOKIE] for c in visitor.set_cookies if STATE_COOKIE in c)
    session = next(c[SESSION_COOKIE] for c in visitor.set_cookies if SESSION_COOKIE in c)
    for morsel in (state, session):
        assert morsel["httponly"]
        assert morsel["secure"]
        assert morsel["samesite"] == "Lax"
        assert morsel["path"] == "/"
        assert not morsel["domain"]
    assert session["max-age"] == str(8 * 3600)
    assert int(state["max-age"]) <= 600
    assert STATE_COOKIE not in visitor.cookies  # the round trip's cookie is cleared once it is used
    assert "U0ALICE" not in session.value.split(".")[1]  # the signature is not the payload


async def test_without_a_session_the_board_sends_to_sign_in(harness: Harness, visitor: Visitor) -> None:
    status, _, headers = await visitor.get("/board")
    assert (status, headers["Location"]) == (303, "/board/signin")
    status, _, _ = await visitor.get("/board/chart.png")
    assert status == 401


@pytest.mark.parametrize("change", ["team", "expired", "other_key", "garbage"])
async def test_a_tampered_or_expired_cookie_is_refused(harness: Harness, visitor: Visitor, change: str) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    await visitor.sign_in()
    value = visitor.cookies[SESSION_COOKIE]
    signer = Signer(CLIENT_SECRET)
    if change == "team":  # their workspace's id in our signed payload
        ours = signer.session(Identity(TEAM_ID, "U0ALICE"), now=time.time())
        theirs = signer.session(Identity(THEIRS.team_id, "U0ALICE"), now=time.time())
        value = theirs.split(".")[0] + "." + ours.split(".")[1]
    elif change == "expired":
        value = signer.session(Identity(TEAM_ID, "U0ALICE"), now=time.time() - 8 * 3600 - 1)
    elif change == "other_key":
        value = Signer("another secret").session(Identity(THEIRS.team_id, "U0ALICE"), now=time.time())
    else:
        value = "not.a.cookie"
    visitor.cookies[SESSION_COOKIE] = value
    status, html, headers = await visitor.get("/board")
    assert (status, headers.get("Location")) == (303, "/board/signin"), html
    assert (await visitor.get("/board/chart.png"))[0] == 401


async def test_a_person_of_another_workspace_is_refused_in_single_token_mode(
    harness: Harness, visitor: Visitor
) -> None:
    harness.slack.openid.as_person(THEIRS.team_id, "U0MALLORY")
    status, html, _ = await visitor.sign_in()
    assert status == 403
    assert "serves another Slack workspace" in html
    assert SESSION_COOKIE not in visitor.cookies
    assert (await visitor.get("/board"))[0] == 303


async def test_a_callback_that_is_not_this_sign_in_changes_nothing(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    status, _, headers = await visitor.get("/board/signin")
    authorize = headers["Location"]
    status, _, headers = await visitor.get(authorize)
    code = re.search(r"code=([^&]+)", headers["Location"])
    assert code is not None
    status, html, _ = await visitor.get(f"/board/callback?code={code.group(1)}&state=forged")
    assert status == 400
    assert "not yours or has expired" in html
    visitor.cookies.pop(STATE_COOKIE)  # another browser: no round trip of its own
    status, _, _ = await visitor.get(f"/board/callback?code={code.group(1)}&state=x")
    assert status == 400
    assert SESSION_COOKIE not in visitor.cookies
    assert not [call for call in harness.slack.calls if call.method == "openid.connect.token"]


async def test_an_id_token_for_another_sign_in_is_refused(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    harness.slack.openid.nonce_override = "a nonce from another sign-in"
    status, html, _ = await visitor.sign_in()
    assert status == 400
    assert "not for this sign-in" in html
    assert SESSION_COOKIE not in visitor.cookies


@pytest.mark.parametrize("method", ["openid.connect.token", "openid.connect.userInfo"])
async def test_slack_not_answering_during_sign_in_is_said_plainly(
    harness: Harness, visitor: Visitor, method: str
) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    harness.slack.fail(method, Fault(reset=True))
    status, html, _ = await visitor.sign_in()
    assert status == 503
    assert "Slack did not answer" in html
    assert SESSION_COOKIE not in visitor.cookies


async def test_a_cancelled_sign_in_says_so(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.deny()
    status, html, _ = await visitor.sign_in()
    assert status == 400
    assert "cancelled" in html
    assert SESSION_COOKIE not in visitor.cookies


async def test_people_s_text_is_escaped(harness: Harness, database_url: str) -> None:
    hostile = Workspace(TEAM_ID, "web", "<script>alert(1)</script> & <b>bold</b>", "<img src=x onerror=alert(2)>")
    await seed(database_url, hostile, now=datetime.now(UTC))
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE", "<i>Alice</i>")
    async with ClientSession() as http:
        visitor = Visitor(http, harness.base_url)
        await visitor.sign_in()
        status, html, _ = await visitor.get("/board")
    assert status == 200
    assert "<script>" not in html
    assert "<img src=x" not in html
    assert "<i>Alice" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


async def test_signing_out_needs_the_session_s_token(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    await visitor.sign_in()
    status, html, _ = await visitor.get("/board")
    token = re.search(r'name="csrf" value="([^"]+)"', html)
    assert token is not None
    status, _, _ = await visitor.post("/board/signout", {"csrf": "forged"})
    assert status == 403
    assert SESSION_COOKIE in visitor.cookies
    status, _, headers = await visitor.post("/board/signout", {"csrf": token.group(1)})
    assert (status, headers["Location"]) == (303, "/")
    assert SESSION_COOKIE not in visitor.cookies
    assert (await visitor.get("/board"))[0] == 303


async def test_the_chart_is_the_workspace_s_png(harness: Harness, visitor: Visitor) -> None:
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    await visitor.sign_in()
    async with visitor.http.get(
        harness.base_url + "/board/chart.png", headers={"Cookie": f"{SESSION_COOKIE}={visitor.cookies[SESSION_COOKIE]}"}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert (await response.read()).startswith(b"\x89PNG")
        assert response.headers["Cache-Control"].startswith("private")


async def test_the_chart_is_drawn_once_for_requests_at_once(
    harness: Harness, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    draw = board_service.chart

    async def counted(ctx: ServiceContext, team_id: str) -> board_service.ChartImage | None:
        drawn.append(team_id)
        return await draw(ctx, team_id)

    monkeypatch.setattr(board_service, "chart", counted)
    harness.slack.openid.as_person(TEAM_ID, "U0ALICE")
    await visitor.sign_in()
    answers = await asyncio.gather(*(visitor.get("/board/chart.png") for _ in range(3)))
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert drawn == [TEAM_ID]


async def test_the_landing_page_offers_sign_in(harness: Harness, visitor: Visitor) -> None:
    status, html, headers = await visitor.get("/")
    assert status == 200
    assert 'href="/board/signin"' in html
    assert "Sign in with Slack" in html
    assert "Add to Slack" not in html  # single-token mode: nothing to install
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, css, _ = await visitor.get("/board.css")
    assert status == 200
    assert "@media" in css
