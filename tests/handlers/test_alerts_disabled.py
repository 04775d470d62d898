"""`POST /hooks/alerts` on a server without SHIPMATE_ALERTS_TOKEN: no alert can be trusted, so every one is
refused (503 `not_configured`) and nothing is recorded."""

from tests.handlers.alert_steps import alertmanager, post_alerts
from tests.harness import Harness


async def test_without_a_token_on_the_server_alerts_are_not_configured(harness: Harness) -> None:
    answer = await post_alerts(harness, alertmanager())

    assert answer.status == 503, answer.text
    assert answer.json["error"] == "not_configured"
    assert "SHIPMATE_ALERTS_TOKEN" in answer.json["message"]
