"""Sign in with Slack (OpenID Connect, authorization code flow): the authorize URL, then the code exchanged on
the Web API (`openid.connect.token`), the nonce checked in the id token Slack returned, and who the person is
(`openid.connect.userInfo`). The id token comes straight from Slack over the API's TLS connection in exchange for
our client secret, so its claims are read without a signature check (OpenID Connect Core 3.1.3.7)."""

import base64
import binascii
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import SLACK_API_DEFAULT, Settings
from bot.web.session import Identity, SignIn

CALLBACK_PATH = "/board/callback"
SCOPES = "openid profile"
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
TEAM_NAME_CLAIM = "https://slack.com/team_name"


class SignInFailed(Exception):
    """Why Slack's answer does not sign anyone in; the text is for the person (no secrets, no codes)."""


def authorize_base(settings: Settings) -> str:
    """Slack's site, next to its Web API: `https://slack.com/` for `https://slack.com/api/` (a fake Slack in
    tests serves both)."""
    api = settings.slack_api_url
    return api[: -len("api/")] if api.endswith("/api/") else SLACK_API_DEFAULT[: -len("api/")]


def redirect_uri(settings: Settings) -> str:
    return settings.shipmate_public_url + CALLBACK_PATH


def authorize_url(settings: Settings, sign_in: SignIn) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": settings.slack_client_id,
            "state": sign_in.state,
            "nonce": sign_in.nonce,
            "redirect_uri": redirect_uri(settings),
        }
    )
    return f"{authorize_base(settings)}openid/connect/authorize?{query}"


async def identify(client: AsyncWebClient, settings: Settings, code: str, sign_in: SignIn) -> Identity:
    """Exchange the code for tokens and ask Slack who the person is; raises `SignInFailed`."""
    try:
        # The credentials go in the form body, as the method also accepts: slack_sdk's `openid_connect_token` sends
        # them through aiohttp's deprecated `BasicAuth`.
        tokens = await client.api_call(
            "openid.connect.token",
            data={
                "client_id": settings.slack_client_id,
                "client_secret": settings.slack_client_secret,
                "code": code,
                "redirect_uri": redirect_uri(settings),
            },
        )
        claims = _claims(str(tokens.get("id_token", "")))
        if not hmac.compare_digest(str(claims.get("nonce", "")), sign_in.nonce):
            raise SignInFailed("Slack's answer was not for this sign-in. Please sign in again.")
        if claims.get("aud") not in (settings.slack_client_id, [settings.slack_client_id]):
            raise SignInFailed("Slack's answer was for another app. Please sign in again.")
        info = await client.openid_connect_userInfo(token=str(tokens["access_token"]))
    except SlackApiError as exc:
        error = exc.response.get("error", "an error") if isinstance(exc.response.data, dict) else "an error"
        raise SignInFailed(f"Slack refused the sign-in ({error}). Please sign in again.") from exc
    team_id, user_id = info.get(TEAM_CLAIM), info.get(USER_CLAIM) or info.get("sub")
    if not isinstance(team_id, str) or not isinstance(user_id, str) or team_id != claims.get(TEAM_CLAIM):
        raise SignInFailed("Slack did not say which workspace you signed in with. Please sign in again.")
    return Identity(team_id, user_id, str(info.get("name", "")), str(info.get(TEAM_NAME_CLAIM, "")))


def _claims(id_token: str) -> dict[str, Any]:
    parts = id_token.split(".")
    if len(parts) != 3:
        raise SignInFailed("Slack's answer carried no id token. Please sign in again.")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise SignInFailed("Slack's id token could not be read. Please sign in again.") from exc
    if not isinstance(claims, dict):
        raise SignInFailed("Slack's id token could not be read. Please sign in again.")
    return claims
