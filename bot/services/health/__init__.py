"""A release's health after its deployments: alerts in (`alerts`), what is done about them (`alert_actions`, the
automatic rollback in `auto_rollback`), and the soak (`soak`: the card's countdown and the "ready" DM)."""

from bot.services.health import auto_rollback, soak  # noqa: F401  (they register their jobs and follow-ups)
from bot.services.health.alert_actions import not_related, open_not_related, roll_back
from bot.services.health.alerts import Notice, Received, receive

receive_alerts = receive

__all__ = ["Notice", "Received", "not_related", "open_not_related", "receive_alerts", "roll_back"]
