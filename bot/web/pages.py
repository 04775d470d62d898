"""The web pages: `GET /` (landing: Add to Slack, Sign in with Slack), the sign-in round trip
(`GET /board/signin`, `GET /board/callback`), `GET /board` and its chart, and `POST /board/signout`. Read-only:
the only form signs out, with a token bound to the session. Every page is served with a strict content security
policy (no script at all, styles and images from this server only) and is never framed."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.timeparse import zone
from bot.notify.installation import Installation
from bot.services import board
from bot.services.kernel.context import ServiceContext
from bot.settings import Settings
from bot.web import signin
from bot.web.html import render
from bot.web.session import SESSION_COOKIE, SESSION_SECONDS, STATE_COOKIE, STATE_SECONDS, Identity, Signer

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the callback's URL carries a code
    "Cache-Control": "no-store",
}
log = logging.getLogger(__name__)
CHART_KEPT = 300.0  # seconds a workspace's chart is kept drawn in this process
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Web:
    """What the pages need from the process."""

    settings: Settings
    services: ServiceContext
    installation: Installation
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.enabled = bool(
            self.settings.slack_client_id and self.settings.slack_client_secret and self.settings.shipmate_public_url
        )
        self.signer = Signer(self.settings.slack_client_secret) if self.enabled else None
        self._charts: dict[str, tuple[float, board.ChartImage | None]] = {}
        self._drawing = asyncio.Lock()
        self._css = files("templates").joinpath("web/board.css").read_bytes()

    async def chart(self, team_id: str) -> board.ChartImage | None:
        """The workspace's chart, drawn at most once per CHART_KEPT (one drawing at a time: it is CPU work)."""
        kept = self._charts.get(team_id)
        if kept is not None and self.clock() - kept[0] <= CHART_KEPT:
            return kept[1]
        async with self._drawing:
            kept = self._charts.get(team_id)
            now = self.clock()
            if kept is None or now - kept[0] > CHART_KEPT:
                kept = (now, await board.chart(self.services.for_team(team_id), team_id))
                self._charts = {t: c for t, c in self._charts.items() if now - c[0] <= CHART_KEPT}
                self._charts[team_id] = kept
        return kept[1]

    def client(self) -> AsyncWebClient:
        """A client without any token: the sign-in authenticates with the app's client id and secret. No retries: a
        code is good once, and the person is waiting (they sign in again)."""
        return AsyncWebClient(
            base_url=self.settings.slack_api_url,
            timeout=max(1, round(self.settings.shipmate_slack_timeout)),
            retry_handlers=[],
        )

    async def refusal(self, identity: Identity) -> str | None:
        """Why this workspace may not read the board here; None when it may."""
        if await self.installation.serves(identity.team_id):
            return None  # its data is its own: every read is scoped by its workspace
        if self.installation.many:
            return "Shipmate is not installed in your Slack workspace. Add it to Slack first, then sign in again."
        return "This Shipmate serves another Slack workspace. Sign in with the workspace it is installed in."


def page(html: str, *, status: int = 200) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)


def _cookie(response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="Lax")


def _signed_in(site: Web, request: web.Request) -> tuple[Identity, str] | None:
    if site.signer is None:
        return None
    value = request.cookies.get(SESSION_COOKIE, "")
    identity = site.signer.identity(value, now=site.clock())
    return (identity, value) if identity is not None else None


def landing(site: Web) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        return page(
            render(
                "landing.html.j2",
                sign_in=site.enabled,
                add_to_slack=site.settings.many_workspaces,
                signed_in=_signed_in(site, request) is not None,
            )
        )

    return serve


def start_sign_in(site: Web) -> Handler:
    async def serve(_request: web.Request) -> web.Response:
        if site.signer is None:
            return _not_configured()
        sign_in, value = site.signer.start(now=site.clock())
        response = _redirect(signin.authorize_url(site.settings, sign_in), status=302)
        _cookie(response, STATE_COOKIE, value, STATE_SECONDS)
        return response

    return serve


def callback(site: Web) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        if site.signer is None:
            return _not_configured()
        sign_in = site.signer.sign_in(request.cookies.get(STATE_COOKIE), now=site.clock())
        state = request.query.get("state", "")
        if sign_in is None or not state or state != sign_in.state:
            return _problem("This sign-in link is not yours or has expired.", status=400)
        if "error" in request.query or not request.query.get("code"):
            return _problem("Slack did not sign you in (the sign-in was cancelled).", status=400)
        try:
            identity = await signin.identify(site.client(), site.settings, request.query["code"], sign_in)
            refused = await site.refusal(identity)
        except signin.SignInFailed as failed:
            return _problem(str(failed), status=400)
        except (aiohttp.ClientError, TimeoutError, SlackApiError) as unreachable:
            log.warning("board sign-in: Slack did not answer (%s)", type(unreachable).__name__)
            return _problem("Slack did not answer in time. Please sign in again in a minute.", status=503)
        if refused is not None:
            log.info("board sign-in refused: workspace %s is not served here", identity.team_id)
            return _problem(refused, status=403)
        log.info("board sign-in: %s of workspace %s", identity.user_id, identity.team_id)
        response = _redirect("/board")
        _cookie(response, SESSION_COOKIE, site.signer.session(identity, now=site.clock()), SESSION_SECONDS)
        response.del_cookie(STATE_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
        return response

    return serve


def show_board(site: Web) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        found = _signed_in(site, request)
        if found is None:
            return _redirect("/board/signin" if site.enabled else "/")
        identity, value = found
        assert site.signer is not None
        view = await board.board(site.services.for_team(identity.team_id), identity.team_id)
        html = render(
            "board.html.j2",
            view=view,
            me=identity,
            csrf=site.signer.csrf(value),
            tz=zone(view.timezone),
        )
        return page(html)

    return serve


def chart(site: Web) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        found = _signed_in(site, request)
        if found is None:
            return web.Response(status=401, text="Sign in at /board first.", headers=HEADERS)
        kept = await site.chart(found[0].team_id)
        if kept is None:
            return web.Response(status=503, text="The chart could not be drawn; the figures are on the board.")
        headers = {**HEADERS, "Cache-Control": "private, max-age=300"}
        return web.Response(body=kept.png, content_type="image/png", headers=headers)

    return serve


def sign_out(site: Web) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        form = await request.post()
        found = _signed_in(site, request)
        if found is not None:
            assert site.signer is not None
            if form.get("csrf") != site.signer.csrf(found[1]):
                return _problem("This sign-out form is out of date; reload the board and try again.", status=403)
        response = _redirect("/")
        response.del_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
        return response

    return serve


def stylesheet(site: Web) -> Handler:
    async def serve(_request: web.Request) -> web.Response:
        headers = {**HEADERS, "Cache-Control": "public, max-age=3600"}
        return web.Response(body=site._css, content_type="text/css", charset="utf-8", headers=headers)

    return serve


def _redirect(location: str, *, status: int = 303) -> web.Response:
    return web.Response(status=status, headers={**HEADERS, "Location": location})


def _problem(text: str, *, status: int) -> web.Response:
    return page(render("problem.html.j2", text=text), status=status)


def _not_configured() -> web.Response:
    return _problem(
        "Sign in with Slack is not set up here: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SHIPMATE_PUBLIC_URL.",
        status=503,
    )


def add_routes(app: web.Application, site: Web) -> None:
    app.router.add_get("/", landing(site))
    app.router.add_get("/board", show_board(site))
    app.router.add_get("/board/signin", start_sign_in(site))
    app.router.add_get(signin.CALLBACK_PATH, callback(site))
    app.router.add_get("/board/chart.png", chart(site))
    app.router.add_post("/board/signout", sign_out(site))
    app.router.add_get("/board.css", stylesheet(site))
