"""Templates render hostile text inert and always produce Block Kit that slack_sdk accepts."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.approval_policy import evaluate
from bot.domain.lifecycle import Status
from bot.domain.policy import ApprovalGroup, Environment, Policy
from bot.render import _key, render, render_text
from bot.services.kernel.release_card import build_card
from bot.services.releases.releases import History
from storage.models import Approval, AuditEvent, Deployment, DeploymentRequest, Release

HOSTILE = '<!channel> <@U0EVIL> <https://evil.example|click> & *bold* `code` " \\ {{ 7*7 }} ü 🚀'
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _release(**overrides: object) -> Release:
    values: dict[str, object] = {
        "id": 7,
        "team_id": "T0TEAM",
        "service": "payments",
        "version": "2.4.0",
        "summary": HOSTILE,
        "changes": HOSTILE * 3,
        "rollback_plan": HOSTILE,
        "risk": "high",
        "proposer_id": "U0ALICE",
        "channel_id": "C0RELEASE",
        "status": Status.PROPOSED,
        "window_start": datetime(2026, 12, 1, 14, 0, tzinfo=UTC),
        "window_end": datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return Release(**values)  # type: ignore[arg-type]


def _valid(payload: dict[str, object]) -> None:
    blocks = payload["blocks"]
    assert isinstance(blocks, list)
    assert 0 < len(blocks) <= 50
    for block in Block.parse_all(blocks):
        assert block is not None
        block.validate_json()
    assert payload["text"]


def _assert_inert(payload: dict[str, object]) -> None:
    rendered = str(payload)
    for dangerous in ("<!channel>", "<@U0EVIL>", "<https://evil.example|click>"):
        assert dangerous not in rendered
    assert "&lt;!channel&gt;" in rendered
    assert "49" not in rendered.replace("2026", "")  # user text is data, never a template


def test_release_card_escapes_everything_and_is_valid() -> None:
    policy = Policy()
    release = _release()
    decisions = [Approval(team_id="T0TEAM", release_id=7, environment="prod", user_id="U0BOB", decision="approve")]
    deployments = [
        Deployment(
            team_id="T0TEAM", release_id=7, service="payments", version="2.4.0", environment="dev", actor_id="U0A"
        )
    ]
    payload = render("release_card", card=build_card(policy, release, decisions, deployments, {}))
    _valid(payload)
    _assert_inert(payload)
    assert "Approvals for prod* 1/1" in str(payload)


def test_card_fragments_are_values_rendered_as_mrkdwn_at_the_edge() -> None:
    groups = [ApprovalGroup(name="qa", members=["S0QA"], required=1), ApprovalGroup(name="sre", members=["S0SRE"])]
    policy = Policy(environments=[Environment(name="dev"), Environment(name="prod", approval_groups=groups)])
    decisions = [
        Approval(team_id="T0TEAM", release_id=7, environment="prod", user_id="U0QA", decision="approve"),
        Approval(team_id="T0TEAM", release_id=7, environment="prod", user_id="U0EVE", decision="reject"),
    ]
    deadline = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    rollback = DeploymentRequest(
        team_id="T0TEAM", request_id="r1", release_id=7, service="payments", version="2.3.0", environment="prod",
        action="rollback", deployer="webhook", requested_by="U0DAVE", deadline_at=deadline,
    )  # fmt: skip
    card = build_card(policy, _release(), decisions, [], {"S0QA": frozenset({"U0QA"})}, [rollback])
    payload = render("release_card", card=card)
    _valid(payload)
    texts = [
        element["text"] for block in payload["blocks"] if block["type"] == "context" for element in block["elements"]
    ]
    assert texts == [
        "*Approvals for prod* 1/2: <@U0QA>\n• qa: 1/1 (<@U0QA>)\n• sre: 0/1 (—)\n⛔ Rejected by <@U0EVE>",
        "▫️ dev → ⏳ prod",
        "⏳ Rolling back *prod* to 2.3.0… asked by <@U0DAVE>; waiting for CI to report "
        f"(until <!date^{int(deadline.timestamp())}^{{time}}|15:30 UTC>)",
    ]
    start, end = (int(datetime(2026, 12, 1, hour, tzinfo=UTC).timestamp()) for hour in (14, 16))
    assert payload["blocks"][1]["fields"][3]["text"] == (
        f"*Window*\n<!date^{start}^{{date_short_pretty}} {{time}}|2026-12-01 14:00 UTC> – "
        f"<!date^{end}^{{time}}|16:00 UTC>"
    )
    unplanned = render(
        "release_card", card=build_card(policy, _release(window_start=None, window_end=None), [], [], {})
    )
    assert unplanned["blocks"][1]["fields"][3]["text"] == "*Window*\nnot planned"


@pytest.mark.parametrize(
    "status",
    [Status.PROPOSED, Status.APPROVED, Status.IN_PROGRESS, Status.RELEASED, Status.REJECTED, Status.ROLLED_BACK],
)
def test_card_for_every_status_is_valid(status: str) -> None:
    payload = render("release_card", card=build_card(Policy(), _release(status=status), [], [], {}))
    _valid(payload)
    assert f"({Status(status).label})" in payload["text"]


def test_thread_and_stakeholder_lines_escape_user_text() -> None:
    release = _release()
    state = evaluate(Policy().environments[-1], approvals=["U0BOB"], proposer_id="U0ALICE", members={})
    texts = [
        render_text("thread_approved", release=release, actor="U0BOB", state=state, comment=HOSTILE),
        render_text("thread_rejected", release=release, actor="U0BOB", reason=HOSTILE, environment="prod"),
        render_text("stakeholders_approved", release=release, environment="prod"),
        render_text("answer_proposed", release=release),
    ]
    for text in texts:
        payload = render("message", text=text, context=None)
        _valid(payload)
        _assert_inert(payload)


def test_list_and_modals_are_valid() -> None:
    _valid(render("release_list", title="Recent releases", releases=[_release()] * 15, more=True))
    modals: tuple[tuple[str, dict[str, object]], ...] = (
        ("propose_modal", {"standard_changes": ['flag "flip" <!channel>', "x" * 60]}),
        ("reject_modal", {"ref": "payments@2.4.0"}),
    )
    for name, extra in modals:
        view = render(name, private_metadata="{}", **extra)
        View(**view).validate_json()
        assert len(view["title"]["text"]) <= 24


def test_a_full_history_page_is_valid_block_kit_and_escapes_its_lines() -> None:
    events = [
        AuditEvent(
            id=n,
            team_id="T0TEAM",
            release_id=7,
            actor_id="U0RM",
            action="noted",
            details={"why": HOSTILE},
            created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),  # a fixed time: a "49" in it would not be the template's
        )
        for n in range(45)
    ]
    page = History(_release(), events, page=2, pages=7, total=300, per_page=45)
    lines = [render_text("history_line", event=event) for event in events]
    payload = render("history", history=page, ref="payments@2.4.0", lines=lines)
    _valid(payload)
    _assert_inert(payload)
    assert len(payload["blocks"]) == 47  # the title, where this page is, 45 events: inside Slack's 50
    where = payload["blocks"][1]["elements"][0]["text"]
    assert where.startswith("_Events 211–255 of 300, oldest first._")
    assert "`/release history payments@2.4.0 3` for older events." in where
    assert "`/release history payments@2.4.0 1` for newer ones." in where


def test_missing_names_fail_loudly() -> None:
    with pytest.raises(UndefinedError):
        render("release_list", title="x")


def test_every_template_is_used_by_the_code() -> None:
    root = TEMPLATES.parent
    code = "".join(p.read_text() for folder in ("bot", "handlers") for p in (root / folder).rglob("*.py"))
    templates_text = "".join(t.read_text() for t in TEMPLATES.glob("*.j2"))
    unused = [
        t.name for t in TEMPLATES.glob("*.j2") if t.name.split(".")[0] not in code and t.name not in templates_text
    ]
    assert not unused


def test_a_card_is_made_of_values_so_it_renders_once_per_what_it_shows() -> None:
    policy = Policy(environments=[Environment(name="dev"), Environment(name="prod")])
    card = build_card(policy, _release(), [], [], {})
    assert _key("release_card.json.j2", {"card": card}) is not None
    assert _key("release_card.json.j2", {"card": card}) == _key(
        "release_card.json.j2", {"card": build_card(policy, _release(), [], [], {})}
    )
    edited = build_card(policy, _release(summary="Faster checkout"), [], [], {})
    assert _key("release_card.json.j2", {"card": edited}) != _key("release_card.json.j2", {"card": card})
    assert "Faster checkout" in render("release_card", card=edited)["blocks"][1]["text"]["text"]
