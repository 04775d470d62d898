"""Drives the real aiohttp app the way Slack does: signed slash commands, button clicks, modal submissions
and Events API callbacks, with the fake Web API recording what the app sends back."""

import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientResponse, ClientSession

from handlers.answering import WORKING
from tests.fakes.signing import command_payload, event_payload, interactive_body, signed_headers
from tests.fakes.slack_api import TEAM_ID, FakeSlack

SECRET = "test-signing-secret"
COORDINATION = "C0RELEASE"
STAKEHOLDERS = "C0STAKE"

_ids = itertools.count(1)


class Answer:
    def __init__(self, status: int, text: str, headers: Mapping[str, str] | None = None, reply_to: str = "") -> None:
        self.status = status
        self.text = text
        self.headers = dict(headers or {})
        self.reply_to = reply_to  # the name of the request's response_url, where a late answer goes

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.text)) if self.text.startswith("{") else {}

    @property
    def message(self) -> str:
        """What the person sees in the ack: text plus every block's text."""
        return self.text


class Harness:
    def __init__(self, base_url: str, session: ClientSession, slack: FakeSlack, *, secret: str = SECRET) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = session
        self.slack = slack
        self.secret = secret
        self.team_id = TEAM_ID

    async def _read(self, response: ClientResponse) -> Answer:
        return Answer(response.status, await response.text(), response.headers)

    async def post_signed(
        self,
        body: bytes,
        *,
        content_type: str,
        path: str = "/slack/events",
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        signed = signed_headers(secret or self.secret, body, timestamp=timestamp, content_type=content_type)
        signed.update(headers or {})
        async with self.http.post(self.base_url + path, data=body, headers=signed) as response:
            return await self._read(response)

    async def command(
        self,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = COORDINATION,
        team_id: str | None = None,
        reply_to: str | None = None,
    ) -> Answer:
        name = reply_to or f"{user}-{next(_ids)}"
        payload = command_payload(
            text,
            team_id=team_id or self.team_id,
            user_id=user,
            channel_id=channel,
            response_url=self.slack.response_url(name),
        )
        answer = await self.deliver("slash_commands", payload)
        answer.reply_to = name
        return answer

    async def deliver(self, kind: str, payload: dict[str, Any], *, retry: int = 0) -> Answer:
        """Send what Slack sends, the way Slack sends it over HTTP: signed, a form or JSON by kind."""
        if kind == "slash_commands":
            return await self.post_signed(urlencode(payload).encode(), content_type="application/x-www-form-urlencoded")
        if kind == "interactive":
            return await self.post_signed(interactive_body(payload), content_type="application/x-www-form-urlencoded")
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return await self.post_signed(json.dumps(payload).encode(), content_type="application/json", headers=headers)

    async def reply(self, answer: Answer) -> dict[str, Any]:
        """The answer a command's person got: the ack's body, or, when the ack said "Working on it…", what came
        on its response_url. Either way exactly one answer."""
        assert answer.status == 200, answer.text
        acked = answer.json if answer.text.startswith("{") else {"text": answer.text}  # a plain text ack is a message
        if acked.get("text") and acked["text"] != WORKING:
            return acked
        calls = await self.slack.wait_for("response_url", lambda call: call.target == answer.reply_to)
        return calls[0].params

    async def command_answer(self, text: str, *, user: str = "U0ALICE") -> str:
        """Run a command and return everything the person was shown (their answer, text and blocks)."""
        answer = await self.command(text, user=user)
        return json.dumps(await self.reply(answer), ensure_ascii=False)

    async def interactive(self, payload: dict[str, Any]) -> Answer:
        return await self.deliver("interactive", payload)

    async def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str = COORDINATION,
        message_ts: str = "1700000000.000001",
        reply_to: str | None = None,
    ) -> Answer:
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "test"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0APP",
            "token": "legacy",
            "trigger_id": f"trigger.{user}.{time.monotonic_ns()}",
            "channel": {"id": channel, "name": "releases"},
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "message": {"ts": message_ts, "text": "release"},
            "response_url": self.slack.response_url(reply_to or f"click-{user}-{next(_ids)}"),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "release_actions",
                    "value": value,
                    "action_ts": str(time.time()),
                }
            ],
        }
        return await self.interactive(payload)

    async def click_answer(self, action_id: str, value: str, *, user: str) -> dict[str, Any]:
        """Click a button and return the ephemeral reply it produced (matched by its own response_url)."""
        name = f"click-{user}-{next(_ids)}"
        answer = await self.click(action_id, value, user=user, reply_to=name)
        assert answer.status == 200, answer.text
        calls = await self.slack.wait_for("response_url", lambda call: call.target == name)
        return calls[0].params

    async def submit_view(
        self, callback_id: str, values: dict[str, dict[str, Any]], *, user: str, private_metadata: str = ""
    ) -> Answer:
        """`values` is Slack's `view.state.values` (block id → action id → element state)."""
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "test"},
            "user": {"id": user, "username": user.lower(), "team_id": self.team_id},
            "api_app_id": "A0APP",
            "token": "legacy",
            "trigger_id": f"trigger.{user}.{time.monotonic_ns()}",
            "view": {
                "id": "V0VIEW",
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": "h",
            },
        }
        return await self.interactive(payload)

    async def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0) -> Answer:
        payload = event_payload(event, team_id=self.team_id, event_id=event_id or f"Ev{next(_ids):08d}")
        return await self.deliver("events_api", payload, retry=retry)

    async def get(self, path: str) -> Answer:
        async with self.http.get(self.base_url + path) as response:
            return await self._read(response)


def text_input(value: str) -> dict[str, Any]:
    return {"input": {"type": "plain_text_input", "value": value}}


def select_input(value: str) -> dict[str, Any]:
    return {
        "input": {
            "type": "static_select",
            "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}},
        }
    }
