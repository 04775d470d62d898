"""Steps shared by the web board's tests: a workspace's history written straight to the database (releases,
deployments, a rollback, a window and a freeze), and a cookie-keeping client that follows no redirect by itself."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from aiohttp import ClientResponse, ClientSession

from bot.domain.lifecycle import Status
from storage.db import Database
from storage.models import Deployment, Freeze, Release
from tests.fakes.slack_api import TEAM_ID


@dataclass(frozen=True)
class Workspace:
    """What one workspace's board must show (and another's must not)."""

    team_id: str
    service: str  # live in every environment, and a newer version in flight
    freeze_reason: str
    rollback_reason: str

    @property
    def words(self) -> list[str]:
        return [self.service, self.freeze_reason, self.rollback_reason]


PUBLIC_URL = "https://shipmate.example"
OURS = Workspace(TEAM_ID, "payments", "Black Friday code freeze", "checkout errors doubled")
THEIRS = Workspace("T0OTHER", "ledger", "Quarter close freeze", "ledger totals drifted")


async def seed(database_url: str, ws: Workspace, *, now: datetime | None = None) -> None:
    """`<service>@1.0.0` live in dev, qa and prod; `@1.1.0` live in dev, in flight, planned in prod in three days;
    `@0.9.0` rolled back in prod; a prod freeze next week; `<service>-web@3.2.0` proposed, its window in that
    freeze (a conflict)."""
    now = now or datetime.now(UTC)
    db = Database(database_url)
    try:
        async with db.transaction() as session:

            def release(version: str, status: Status, window: datetime | None = None, suffix: str = "") -> Release:
                row = Release(
                    team_id=ws.team_id, service=ws.service + suffix, version=version, summary=f"{ws.service} {version}",
                    proposer_id="U0ALICE", status=status, channel_id="C0RELEASE", window_start=window,
                    window_end=window + timedelta(hours=1) if window else None,
                )  # fmt: skip
                session.add(row)
                return row

            old = release("0.9.0", Status.ROLLED_BACK)
            live = release("1.0.0", Status.RELEASED)
            flying = release("1.1.0", Status.APPROVED, now + timedelta(days=3))
            release("3.2.0", Status.PROPOSED, now + timedelta(days=7, hours=4), suffix="-web")
            await session.flush()
            at = now - timedelta(days=2)
            for env in ("dev", "qa", "prod"):
                session.add(_deployment(ws, live, env, at))
            session.add(_deployment(ws, flying, "dev", at + timedelta(hours=1)))
            rolled = _deployment(ws, old, "prod", at + timedelta(hours=2))
            rolled.rolled_back_at, rolled.rolled_back_by = at + timedelta(hours=3), "U0RM"
            rolled.rollback_reason = ws.rollback_reason
            session.add(rolled)
            start = now + timedelta(days=7)
            session.add(
                Freeze(
                    team_id=ws.team_id,
                    environment="prod",
                    start_at=start,
                    end_at=start + timedelta(days=2),
                    reason=ws.freeze_reason,
                    created_by="U0RM",
                )
            )
    finally:
        await db.dispose()


def _deployment(ws: Workspace, release: Release, env: str, at: datetime) -> Deployment:
    return Deployment(
        team_id=ws.team_id, release_id=release.pk, service=release.service, version=release.version,
        environment=env, actor_id="U0DAVE", created_at=at,
    )  # fmt: skip


@dataclass
class Visitor:
    """A person's browser, reduced to what the board needs: cookies (Secure ones too: the test server is plain
    http on loopback) and redirects followed one at a time."""

    http: ClientSession
    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookies: list[SimpleCookie] = field(default_factory=list)

    async def get(self, url: str) -> tuple[int, str, dict[str, str]]:
        return await self._send("GET", url)

    async def post(self, url: str, data: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        return await self._send("POST", url, data)

    async def _send(self, method: str, url: str, data: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        if url.startswith("/"):
            url = self.base_url + url
        header = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers = {"Cookie": header} if header else {}
        async with self.http.request(method, url, data=data, headers=headers, allow_redirects=False) as response:
            self._keep(response)
            return response.status, await response.text(errors="replace"), dict(response.headers)

    def _keep(self, response: ClientResponse) -> None:
        for raw in response.headers.getall("Set-Cookie", []):
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(raw)
            self.set_cookies.append(cookie)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    async def sign_in(self) -> tuple[int, str, dict[str, str]]:
        """/board/signin → Slack's authorize page → back to our callback (on this server) → the board."""
        status, _, headers = await self.get("/board/signin")
        assert status == 302, status
        status, _, headers = await self.get(headers["Location"])  # the fake Slack's authorize page
        assert status == 302, status
        back = urlsplit(headers["Location"])
        return await self.get(f"{back.path}?{back.query}")
