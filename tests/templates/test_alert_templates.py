"""Alert messages rendered with hostile text from the alert's sender (its name, summary, source link) and from
people (a "Not related" reason): valid Block Kit, everything escaped, nobody pinged, the buttons carry the alert."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.lifecycle import Status
from bot.domain.policy import Environment
from bot.ids import ActionId, BlockId, CallbackId
from bot.render import render, render_text
from storage.models import Alert, Deployment, DeploymentRequest, Release

HOSTILE = "<!channel> & <@U0EVIL> *bold* `code`"
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ENV = Environment(name="prod", auto_rollback=True, rollback_grace="2m")


def _release() -> Release:
    return Release(
        id=1,
        team_id="T0TEAM",
        service="payments",
        version="2.5.0",
        summary=HOSTILE,
        proposer_id="U0ALICE",
        channel_id="C0RELEASE",
        status=Status.RELEASED,
    )


def _alert() -> Alert:
    return Alert(
        id=9,
        team_id="T0TEAM",
        fingerprint="1a30ba71cca2921f",
        starts_at=AT,
        status="firing",
        name=HOSTILE,
        summary=HOSTILE,
        source_url="https://grafana.example.com/alerting/1?a=1&b=<2>",
        source="grafana",
        service="payments",
        environment="prod",
        release_id=1,
        deployment_id=7,
        watched=True,
    )


def _deployment() -> Deployment:
    return Deployment(
        id=7,
        team_id="T0TEAM",
        release_id=1,
        service="payments",
        version="2.5.0",
        environment="prod",
        actor_id="U0DAVE",
        created_at=AT,
    )


def _safe(text: str) -> None:
    assert "<!channel>" not in text
    assert "<@U0EVIL>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;" in text


def _valid(message: dict[str, Any]) -> None:
    for block in Block.parse_all(message["blocks"]):
        block.validate_json()


@pytest.mark.parametrize("auto", [False, "dry-run", True])
def test_the_fired_alert_with_its_buttons(auto: bool | str) -> None:
    message = render(
        "thread_alert_fired", release=_release(), alert=_alert(), deployment=_deployment(), auto=auto, grace="2m"
    )
    _valid(message)
    text = message["blocks"][0]["text"]["text"]
    _safe(text)
    assert "<https://grafana.example.com/alerting/1?a=1&amp;b=&lt;2&gt;|source>" in text
    _safe(message["text"])
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (ActionId.ALERT_ROLLBACK, "9"),
        (ActionId.ALERT_NOT_RELATED, "9"),
    ]


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("alert_dm", {"alert": _alert()}),
        ("thread_alert_resolved", {"alert": _alert(), "ended": AT}),
        ("thread_alert_not_related", {"alert": _alert(), "actor": "U0DAVE", "reason": HOSTILE, "held": True}),
        ("rollback_needed_dm", {"alert": _alert(), "env": ENV}),
        ("soak_ready_dm", {"env": ENV}),
        (
            "thread_auto_rollback",
            {
                "mode": "dry-run",
                "alert": _alert(),
                "env": ENV,
                "restored": _deployment(),
                "deployer": "webhook",
                "paged": ["U0DAVE"],
            },
        ),
        ("thread_auto_rollback", {"mode": "page", "alert": _alert(), "env": ENV, "paged": ["U0DAVE"]}),
        (
            "thread_auto_rollback",
            {
                "mode": "request",
                "alert": _alert(),
                "env": ENV,
                "request": DeploymentRequest(
                    team_id="T0TEAM",
                    request_id="abc123def456",
                    release_id=1,
                    service="payments",
                    version="2.4.0",
                    environment="prod",
                    action="rollback",
                    deployer="webhook",
                    requested_by="shipmate",
                    deadline_at=AT,
                ),
            },
        ),
    ],
)
def test_alert_lines_escape_what_they_are_told(template: str, context: dict[str, Any]) -> None:
    text = render_text(template, release=_release(), **context)
    if template != "soak_ready_dm":
        _safe(text)
    assert "<!channel>" not in text
    _valid(render("message", text=text, context=None))


def test_the_not_related_modal() -> None:
    view = render("not_related_modal", alert=_alert(), ref="payments@2.5.0", private_metadata='{"alert_id": 9}')
    View(**view).validate_json()  # the modal as Slack takes it, not only its blocks
    _valid(view)
    _safe(view["blocks"][0]["text"]["text"])
    assert view["callback_id"] == CallbackId.NOT_RELATED  # the submission finds its handler
    assert json.loads(view["private_metadata"]) == {"alert_id": 9}  # and the alert it answers
    assert view["blocks"][1]["block_id"] == BlockId.REASON
