"""The web board in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright with its
`executable_path`), JavaScript off, signing in through the fake Slack. Two workspaces, each served by its own app
on one database: each person sees their workspace's releases, freezes and rollbacks and none of the other's, and a
person of one workspace is refused at the other's board. Screenshots are saved under tests/artifacts/board/."""

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.domain.policy import Policy
from bot.server import create_app
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_openid import CLIENT_ID, CLIENT_SECRET
from tests.process import free_port
from tests.web.board_steps import OURS, THEIRS, Workspace, seed

CHROMIUM = os.environ.get("SHIPMATE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "board"
THEIR_TOKEN = "xoxb-their-workspace"

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
pytestmark = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)"
)


async def _serve(database_url: str, slack: FakeSlack, policy: Policy, token: str) -> TestServer:
    port = free_port()
    settings = make_settings(
        database_url,
        slack,
        slack_bot_token=token,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        shipmate_public_url=f"http://localhost:{port}",
    )
    server = TestServer(create_app(settings, policy), host="127.0.0.1", port=port)
    await server.start_server()
    return server


@pytest.fixture
async def boards(database_url: str, slack: FakeSlack, policy: Policy) -> AsyncIterator[dict[str, str]]:
    """Our workspace's app and theirs (its own bot token), one database, one fake Slack: name → base URL."""
    slack.teams_by_token[THEIR_TOKEN] = THEIRS.team_id
    await seed(database_url, OURS)
    await seed(database_url, THEIRS)
    ours = await _serve(database_url, slack, policy, "xoxb-test")
    theirs = await _serve(database_url, slack, policy, THEIR_TOKEN)
    yield {"ours": f"http://localhost:{ours.port}", "theirs": f"http://localhost:{theirs.port}"}
    await ours.close()
    await theirs.close()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async with playwright_api.async_playwright() as driver:
        launched = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def _sign_in_and_read(browser: object, slack: FakeSlack, base: str, ws: Workspace, shot: str, **view: int) -> str:
    """A fresh browser profile, JavaScript off: the landing page, Sign in with Slack, the board; its text."""
    slack.openid.as_person(ws.team_id, "U0READER", f"Reader of {ws.team_id}", f"Workspace {ws.team_id}")
    viewport = {"width": view.get("width", 1280), "height": view.get("height", 900)}
    context = await browser.new_context(java_script_enabled=False, viewport=viewport)  # type: ignore[attr-defined]
    try:
        page = await context.new_page()
        charts: list[int] = []
        page.on("response", lambda r: charts.append(r.status) if r.url.endswith("/board/chart.png") else None)
        await page.goto(base + "/")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"landing-{shot}"))
        await page.get_by_role("link", name="Sign in with Slack").click()
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        text = str(await page.inner_text("body"))
        if page.url.endswith("/board"):
            cookies = await context.cookies()
            session = next(c for c in cookies if c["name"] == "__Host-shipmate-session")
            assert session["httpOnly"]
            assert session["secure"]
            assert session["sameSite"] == "Lax"
            assert charts == [200], charts
        return text
    finally:
        await context.close()


async def test_each_workspace_sees_its_own_board_and_never_the_other_s(
    boards: dict[str, str], browser: object, slack: FakeSlack
) -> None:
    print(f"\nscreenshots: {ARTIFACTS}")
    for name, ws, other in (("ours", OURS, THEIRS), ("theirs", THEIRS, OURS)):
        text = await _sign_in_and_read(browser, slack, boards[name], ws, f"board-{name}.png")
        assert "Release board" in text, text
        for word in ws.words:
            assert word in text, (name, word)
        for word in other.words:
            assert word not in text, (name, word)
        assert f"{ws.service}@1.1.0" in text
        assert "Deploy to qa" in text


async def test_a_person_of_another_workspace_is_refused(
    boards: dict[str, str], browser: object, slack: FakeSlack
) -> None:
    text = await _sign_in_and_read(browser, slack, boards["ours"], THEIRS, "refused.png")
    assert "serves another Slack workspace" in text
    for word in OURS.words + THEIRS.words:
        assert word not in text


async def test_the_board_reads_on_a_phone(boards: dict[str, str], browser: object, slack: FakeSlack) -> None:
    text = await _sign_in_and_read(browser, slack, boards["ours"], OURS, "board-phone.png", width=390, height=844)
    assert OURS.freeze_reason in text
    assert "Sign out" in text
