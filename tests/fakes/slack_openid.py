"""Sign in with Slack (OpenID Connect) for the fake Slack, as Slack documents it: the browser is sent to
`GET /openid/connect/authorize` (response_type=code, scope=openid profile, client_id, state, nonce, redirect_uri)
and comes back to the redirect URI with `code` and `state`; the app then calls `openid.connect.token` (client_id,
client_secret, code, redirect_uri) for an access token and an id token (a JWT whose claims carry the nonce and the
workspace), and `openid.connect.userInfo` with that token. Errors are Slack's shape (HTTP 200, ok false).

Who signs in is the test's choice: `as_person(...)` before the browser (or client) reaches the authorize page;
`deny()` makes the person cancel."""

import base64
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.slack_oauth import CLIENT_ID as CLIENT_ID  # one Slack app: installs and sign-ins alike
from tests.fakes.slack_oauth import CLIENT_SECRET as CLIENT_SECRET


@dataclass(frozen=True)
class Person:
    team_id: str
    user_id: str
    name: str
    team_name: str

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.user_id,
            "https://slack.com/user_id": self.user_id,
            "https://slack.com/team_id": self.team_id,
            "https://slack.com/team_name": self.team_name,
            "name": self.name,
            "email_verified": False,
        }


@dataclass
class Grant:
    person: Person
    nonce: str
    redirect_uri: str
    used: bool = False


@dataclass
class FakeOpenId:
    person: Person | None = None
    denied: bool = False
    authorizations: list[dict[str, str]] = field(default_factory=list)  # what each authorize request asked
    grants: dict[str, Grant] = field(default_factory=dict)  # code → grant
    tokens: dict[str, Person] = field(default_factory=dict)  # access token → person
    nonce_override: str | None = None  # put another nonce in the id token (a replayed answer)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def as_person(self, team_id: str, user_id: str, name: str = "", team_name: str = "") -> None:
        self.person, self.denied = Person(team_id, user_id, name or user_id, team_name or team_id), False

    def deny(self) -> None:
        self.denied = True

    async def authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorizations.append(query)
        redirect = query.get("redirect_uri", "")
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split() or not redirect:
            return web.Response(status=400, text="invalid_request")
        if query.get("client_id") != CLIENT_ID:
            return web.Response(status=400, text="invalid_client_id")
        if self.denied or self.person is None:
            back = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = f"code-{next(self._ids)}"
            self.grants[code] = Grant(self.person, query.get("nonce", ""), redirect)
            back = {"code": code, "state": query.get("state", "")}
        raise web.HTTPFound(f"{redirect}?{urlencode(back)}")

    def answer(self, method: str, params: dict[str, Any], authorization: str) -> dict[str, Any]:
        if method == "openid.connect.token":
            return self._token(params, authorization)
        bearer = authorization.removeprefix("Bearer ").strip() or str(params.get("token", ""))
        person = self.tokens.get(bearer)
        if person is None:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, **person.claims()}

    def _token(self, params: dict[str, Any], authorization: str) -> dict[str, Any]:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
            return {"ok": False, "error": "invalid_client"}
        grant = self.grants.get(str(params.get("code")))
        if grant is None or grant.used:
            return {"ok": False, "error": "invalid_code"}
        if params.get("redirect_uri") != grant.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        grant.used = True
        token = f"xoxp-oidc-{next(self._ids)}"
        self.tokens[token] = grant.person
        now = int(time.time())
        claims = {
            "iss": "https://slack.com",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "nonce": self.nonce_override or grant.nonce,
            **grant.person.claims(),
        }
        return {"ok": True, "access_token": token, "token_type": "Bearer", "id_token": _jwt(claims)}


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT', 'kid': 'fake'})}.{part(claims)}.c2lnbmF0dXJl"
