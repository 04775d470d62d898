"""Deployment messages rendered with hostile text: valid Block Kit, user text escaped, nobody pinged."""

from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import Block

from bot.domain.lifecycle import Status
from bot.render import render, render_text
from bot.services.deploys.deploy_status import InFlight, ServiceStatus, StatusReport
from storage.models import Deployment, Release, Verification
from storage.repositories.deployments import LiveVersion
from storage.repositories.releases import FlightLine

HOSTILE = "<!channel> & <@U0EVIL> *bold* `code`"


def _release() -> Release:
    return Release(
        id=1,
        team_id="T0TEAM",
        service="payments",
        version="2.5.0",
        summary=HOSTILE,
        proposer_id="U0ALICE",
        channel_id="C0RELEASE",
        rollback_plan=HOSTILE,
        status=Status.RELEASED,
    )


def _deployment(**changes: object) -> Deployment:
    values: dict[str, object] = {
        "id": 7,
        "team_id": "T0TEAM",
        "release_id": 1,
        "service": "payments",
        "version": "2.5.0",
        "environment": "prod",
        "actor_id": "U0RM",
        "override_reason": HOSTILE,
        "created_at": datetime(2026, 11, 30, tzinfo=UTC),
    }
    values.update(changes)
    return Deployment(**values)  # type: ignore[arg-type]


def _safe(text: str) -> None:
    assert "<!channel>" not in text
    assert "<@U0EVIL>" not in text
    assert "&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;" in text
    message = render("message", text=text, context=None)
    for block in Block.parse_all(message["blocks"]):
        block.validate_json()


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("thread_deployed", {"deployment": _deployment(), "bypassed": [], "freeze_label": HOSTILE, "live": "2.4.0"}),
        (
            "stakeholders_deployed",
            {"deployment": _deployment(), "final": True, "freeze_label": HOSTILE, "replaced": "2.4.0"},
        ),
        (
            "thread_verified",
            {
                "verification": Verification(
                    team_id="T0TEAM", release_id=1, environment="qa", user_id="U0QA", passed=False, note=HOSTILE
                ),
                "next_env": "prod",
            },
        ),
        (
            "thread_rolled_back",
            {"actor": "U0RM", "environment": "prod", "reason": HOSTILE, "restored": _deployment(version="2.4.0")},
        ),
        (
            "stakeholders_rolled_back",
            {
                "actor": "U0RM",
                "environment": "prod",
                "reason": HOSTILE,
                "restored": _deployment(version="2.4.0"),
                "restored_release": _release(),
            },
        ),
    ],
)
def test_user_text_is_escaped(template: str, context: dict[str, object]) -> None:
    text = render_text(template, release=_release(), **context)
    _safe(text)
    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text


def test_ci_links_keep_their_query_and_cannot_break_out() -> None:
    line = render_text(
        "thread_deployed",
        release=_release(),
        deployment=_deployment(actor_id="ci", override_reason=None, ci_url="https://ci.example.com/r?a=1&b=2"),
        bypassed=[],
        freeze_label=None,
        live=None,
    )
    assert "🤖 CI deployed" in line
    assert "<https://ci.example.com/r?a=1&amp;b=2|CI run>" in line


def test_status_report_renders_valid_blocks() -> None:
    report = StatusReport(
        services=[
            ServiceStatus(
                service="payments",
                live=[("dev", LiveVersion("payments", "dev", "2.5.0")), ("qa", None), ("prod", None)],
                in_flight=[InFlight(FlightLine(7, "payments", "2.5.0", Status.IN_PROGRESS), "in progress", "dev")],
            )
        ],
        more=3,
    )
    rendered = render("deploy_status", title="What runs where", report=report, empty="nothing")
    for block in Block.parse_all(rendered["blocks"]):
        block.validate_json()
    text = str(rendered)
    assert "`dev` *2.5.0* · `qa` — · `prod` —" in text
    assert "2.5.0 in progress (reached dev)" in text
    assert "3 more services" in text
