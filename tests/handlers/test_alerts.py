"""`POST /hooks/alerts` with Alertmanager's and Grafana's published example bodies: the bearer token, alerts
received once however often the group is re-sent, alerts nobody can place counted and ignored, and a firing alert
within the watch posted in the release's thread with Roll back and Not related, its deployer and proposer told."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.ids import ActionId, BlockId, CallbackId
from bot.settings import Settings
from tests.conftest import make_settings
from tests.fakes.slack_api import Call, FakeSlack
from tests.handlers.alert_steps import ALERTS_TOKEN, DEPLOYER, alertmanager, example, iso, policy, post_alerts, ship
from tests.handlers.deploy_steps import PROPOSER, live_version, thread_lines
from tests.harness import Harness, text_input

REF = "payments@2.4.0"


@pytest.fixture
def policy_text() -> str:
    return policy()


@pytest.fixture
def settings(database_url: str, slack: FakeSlack) -> Settings:
    return make_settings(database_url, slack, shipmate_alerts_token=ALERTS_TOKEN)


async def test_a_firing_alert_in_the_watch_reaches_the_thread_with_both_buttons(harness: Harness) -> None:
    await ship(harness, REF)

    answer = await post_alerts(harness, alertmanager(name="HighErrorRate"))

    assert answer.status == 202, answer.text
    assert answer.json == {"ok": True, "alerts": {"counted": 1}}
    [line] = await thread_lines(harness, "HighErrorRate")
    assert "is firing for payments in *prod*" in line.text_everywhere
    assert "BlackBox Probe Failure" in line.text_everywhere  # the summary
    assert "http://prometheus.example.org:9090/graph" in line.text_everywhere  # its source
    buttons = [e["action_id"] for b in line["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [ActionId.ALERT_ROLLBACK, ActionId.ALERT_NOT_RELATED]
    dms = await harness.slack.wait_for(
        "chat.postMessage",
        lambda c: c.get("channel") in (DEPLOYER, PROPOSER) and "HighErrorRate" in c.text_everywhere,
        count=2,
    )
    assert {dm["channel"] for dm in dms} == {DEPLOYER, PROPOSER}


async def test_a_resent_group_is_received_once(harness: Harness) -> None:
    await ship(harness, REF)
    body = alertmanager(name="HighErrorRate")
    first = await post_alerts(harness, body)
    again = [await post_alerts(harness, body) for _ in range(3)]

    assert first.json["alerts"] == {"counted": 1}
    assert [answer.json["alerts"] for answer in again] == [{"duplicate": 1}] * 3
    await harness.slack.settle()
    assert len(await thread_lines(harness, "HighErrorRate")) == 1


async def test_resolved_alerts_are_noted(harness: Harness) -> None:
    await ship(harness, REF)
    started = datetime.now(UTC)
    await post_alerts(harness, alertmanager(name="HighErrorRate", starts_at=started))

    answer = await post_alerts(harness, alertmanager("resolved", name="HighErrorRate", starts_at=started))

    assert answer.json["alerts"] == {"resolved": 1}
    await thread_lines(harness, "resolved")


async def test_grafana_example_is_read_and_alerts_nobody_can_place_are_ignored(harness: Harness) -> None:
    await ship(harness, REF)
    body = example("grafana")
    now = datetime.now(UTC)
    body["alerts"][0]["labels"] |= {"service": "payments", "environment": "production"}
    body["alerts"][0]["startsAt"] = iso(now)
    body["alerts"][1]["labels"] |= {"service": "payments", "environment": "moon"}  # no such environment

    answer = await post_alerts(harness, body)

    assert answer.status == 202, answer.text
    assert answer.json["alerts"] == {"counted": 1, "unknown_environment": 1}
    [line] = await thread_lines(harness, "High memory usage")
    assert "https://play.grafana.org/alerting/1afz29v7z/edit" in line.text_everywhere
    unknown = alertmanager(service="ledger")  # nothing of ledger was ever deployed
    unlabelled = example("alertmanager")
    unlabelled["alerts"][0]["startsAt"] = iso(now)
    assert (await post_alerts(harness, unknown)).json["alerts"] == {"unknown_service": 1}
    assert (await post_alerts(harness, unlabelled)).json["alerts"] == {"no_service_label": 1}


async def test_an_alert_after_the_watch_only_counts_against_the_soak(harness: Harness) -> None:
    await ship(harness, REF)
    late = alertmanager(name="HighErrorRate", starts_at=datetime.now(UTC) + timedelta(hours=1))

    answer = await post_alerts(harness, late)

    assert answer.json["alerts"] == {"outside_watch": 1}
    await harness.slack.settle()
    assert not [c for c in harness.slack.of("chat.postMessage") if "HighErrorRate" in c.text_everywhere]


async def test_the_token_is_required(harness: Harness) -> None:
    missing = await post_alerts(harness, alertmanager(), token=None)
    wrong = await post_alerts(harness, alertmanager(), token="guess")
    assert (missing.status, missing.json["error"]) == (401, "bad_token")
    assert (wrong.status, wrong.json["error"]) == (401, "bad_token")
    malformed = await post_alerts(harness, b"{not json")
    assert (malformed.status, malformed.json["error"]) == (400, "invalid_json")


def _alert_button(line: Call, action_id: str) -> str:
    return str(
        next(
            e["value"]
            for b in line["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        )
    )


async def test_roll_back_from_the_alert_is_for_deployers_and_happens_once(harness: Harness, database_url: str) -> None:
    await ship(harness, "payments@2.3.0")
    await ship(harness, REF)
    await post_alerts(harness, alertmanager(name="HighErrorRate"))
    [line] = await thread_lines(harness, "HighErrorRate")
    value = _alert_button(line, ActionId.ALERT_ROLLBACK)

    refused = await harness.click_answer(ActionId.ALERT_ROLLBACK, value, user=PROPOSER)
    assert "may roll back" in refused["text"] or "may not" in refused["text"], refused
    assert await live_version(database_url, "payments", "prod") == "2.4.0"

    done = await harness.click_answer(ActionId.ALERT_ROLLBACK, value, user=DEPLOYER)
    assert "Rolled back *prod*" in done["text"], done
    assert await live_version(database_url, "payments", "prod") == "2.3.0"
    again = await harness.click_answer(ActionId.ALERT_ROLLBACK, value, user=DEPLOYER)
    assert "already answered" in again["text"], again
    assert await live_version(database_url, "payments", "prod") == "2.3.0"


async def test_not_related_asks_a_reason_and_is_recorded(harness: Harness) -> None:
    await ship(harness, REF)
    await post_alerts(harness, alertmanager(name="HighErrorRate <!channel>"))
    [line] = await thread_lines(harness, "HighErrorRate")
    assert "<!channel>" not in line.text_everywhere  # the sender's words stay inert
    value = _alert_button(line, ActionId.ALERT_NOT_RELATED)

    refused = await harness.click_answer(ActionId.ALERT_NOT_RELATED, value, user="U0MALLORY")
    assert "deploy" in refused["text"], refused
    clicked = await harness.click(ActionId.ALERT_NOT_RELATED, value, user=DEPLOYER)
    assert clicked.status == 200
    [opened] = await harness.slack.wait_for("views.open")
    view = opened["view"]
    assert view["callback_id"] == CallbackId.NOT_RELATED
    submitted = await harness.submit_view(
        CallbackId.NOT_RELATED,
        {BlockId.REASON: text_input("the payment provider is down everywhere")},
        user=DEPLOYER,
        private_metadata=view["private_metadata"],
    )
    assert submitted.status == 200, submitted.text

    [note] = await thread_lines(harness, "the payment provider is down")
    assert "is not related to payments@2.4.0" in note.text_everywhere
    history = await harness.command_answer(f"history {REF}")
    assert (
        "said HighErrorRate &lt;!channel&gt; (prod) is not related: “the payment provider is down everywhere”"
        in history
    ), history
    metrics = await harness.command_answer("metrics payments")
    assert "Alerts: 0 alert-driven rollbacks · 1 answered “Not related”" in metrics, metrics
    twice = await harness.submit_view(
        CallbackId.NOT_RELATED,
        {BlockId.REASON: text_input("again")},
        user=DEPLOYER,
        private_metadata=view["private_metadata"],
    )
    assert "already answered" in twice.text
