"""Without SHIPMATE_WEBHOOK_SECRET the webhook refuses everything: an unset secret must never mean "open"."""

import pytest

from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import hook_body, post_hook, raw, sign
from tests.harness import Harness


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(database_url, slack, shipmate_webhook_secret="")


async def test_no_secret_configured_is_401(harness: Harness) -> None:
    body = hook_body()
    for headers in ({}, sign(raw(body), ""), sign(raw(body), "webhook-secret"), None):
        answer = await post_hook(harness, body, headers=headers, sign_with="")
        assert answer.status == 401
        assert answer.json["error"] == "webhook_disabled"
