"""Refusals raised right after the ack still reach Slack as a 200 (slack-bolt would otherwise forget the ack)."""

from slack_bolt.async_app import AsyncAck

from bot.domain.errors import NotFound
from bot.domain.policy import Policy
from bot.server import BOLT, create_app
from bot.settings import Settings
from handlers import errors
from tests.fakes.slack_api import FakeSlack
from tests.servers import serve


async def refuse_at_once(ack: AsyncAck) -> None:
    await ack()
    raise NotFound("There is no release nope@1.0.0.")


async def test_refusal_right_after_the_ack_is_a_200_and_an_answer(
    settings: Settings, policy: Policy, slack: FakeSlack
) -> None:
    app = create_app(settings, policy)
    app[BOLT].command("/boom")(errors.answered(refuse_at_once))
    async with serve(app, slack) as harness:
        body = b"command=%2Fboom&text=&team_id=T0TEAM&user_id=U0ALICE&response_url=" + slack.response_url("b").encode()
        answer = await harness.post_signed(body, content_type="application/x-www-form-urlencoded")
        assert answer.status == 200
        replies = await slack.wait_for("response_url")
    assert "There is no release nope@1.0.0." in replies[0]["text"]
    assert replies[0]["response_type"] == "ephemeral"
