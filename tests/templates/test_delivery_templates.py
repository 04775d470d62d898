"""Delivery metric messages: valid Block Kit with and without a chart, capped lists, nothing unescaped."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from bot.domain.delivery_metrics import Facts, Measures, Period
from bot.domain.delivery_report import Week
from bot.render import render
from bot.services.metrics.delivery import Chart, Report
from bot.services.metrics.metrics_digest import Digest
from storage.repositories.delivery import Shipped
from tests.fakes.slack_api import UNESCAPED, _texts

END = datetime(2026, 3, 30, 9, tzinfo=UTC)


def report(facts: Facts | None = None, days: int = 30) -> Report:
    facts = facts or Facts()
    period = Period.ending(END, days)
    return Report(
        service="payments",
        environment="prod",
        current=Measures(period, facts),
        previous=Measures(period.previous(), Facts()),
        weeks=[Week(span, facts) for span in period.weeks()],
    )


def valid(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = message["blocks"]
    for block in Block.parse_all(blocks):
        block.validate_json()
    assert message["text"]
    assert not [text for text in _texts(message) if UNESCAPED.search(text)]
    return blocks


def test_no_deployments_renders_words_without_an_image() -> None:
    blocks = valid(render("delivery_metrics", report=report(), chart=None))
    assert [b["type"] for b in blocks] == ["section", "section", "context", "context"]
    assert "no deployments" in json.dumps(blocks)


def test_with_a_chart_the_image_block_names_the_file() -> None:
    chart = Chart("F0000001", "payments · prod · last 30 days", "x" * 2500)
    facts = Facts(deployments=3, failures=1, lead_median=3600, lead_p90=7200, restored=1, restore_median=600)
    blocks = valid(render("delivery_metrics", report=report(facts), chart=chart))
    image = next(b for b in blocks if b["type"] == "image")
    assert image["slack_file"] == {"id": "F0000001"}
    assert len(image["alt_text"]) == 2000


def test_the_digest_caps_its_lists() -> None:
    shipped = [
        (f"svc{s:02d}", [Shipped(f"svc{s:02d}", f"1.{v}", END - timedelta(days=1), v == 0) for v in range(12)])
        for s in range(20)
    ]
    digest = Digest(report(days=7), shipped, more=True, chart=None)
    blocks = valid(render("metrics_digest", digest=digest, chart=None))
    listed = blocks[1]["text"]["text"]
    assert listed.count("• *svc") == 15
    assert "• *svc00*: 1.0 ⚠️, 1.1, 1.2" in listed
    assert "1.9 and 2 more" in listed
    assert "`/release metrics &lt;service&gt; 7` shows one service" in listed
    empty = valid(render("metrics_digest", digest=Digest(report(days=7), [], more=False, chart=None), chart=None))
    assert "Nothing reached prod this week." in empty[1]["text"]["text"]
