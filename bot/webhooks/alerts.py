"""`POST /hooks/alerts`: Prometheus Alertmanager's webhook (version 4) and Grafana's webhook contact point (the same
shape with extra fields: `orgId`, `title`, `state`, `message`, and per alert `silenceURL`, `dashboardURL`,
`panelURL`, `values`), as both publish them.

Authenticated with `Authorization: Bearer <SHIPMATE_ALERTS_TOKEN>` (both tools send it when configured with a
bearer token / "Authentication Header Scheme: Bearer"), compared in constant time: 503 `not_configured` when the
server has no token, 401 `bad_token` otherwise. The workspace is the one this Shipmate is installed in. Answers
202 with what became of each alert (`counted`, `outside_watch`, `resolved`, `duplicate`, `unknown_service`,
`unknown_environment`, `no_service_label`, `no_environment_label`): alerts Shipmate cannot place are counted and
ignored, never an error, so the sender does not retry them.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from bot import logs
from bot.domain.errors import InvalidInput
from bot.metrics import Metrics
from bot.notify.installation import Installation
from bot.services.health import Notice, receive_alerts
from bot.services.kernel.context import ServiceContext
from bot.webhooks import bodies, fields
from bot.webhooks.errors import BadToken, NotConfigured

_URL = re.compile(r"^https?://[^\s<>|]{1,490}$")
MAX_ALERTS = 1000


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertBody(_Model):
    status: str = Field(pattern="^(firing|resolved)$")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: Annotated[AwareDatetime, AfterValidator(_utc)]
    endsAt: Annotated[AwareDatetime, AfterValidator(_utc)] | None = None
    generatorURL: str = ""
    fingerprint: str | None = Field(default=None, max_length=64)


class AlertsBody(_Model):
    version: str | None = None  # "4" from Alertmanager, "1" from Grafana
    status: str = ""
    alerts: list[AlertBody] = Field(max_length=MAX_ALERTS)
    orgId: int | None = None


def _link(url: str) -> str | None:
    return url if _URL.match(url) else None


def _fingerprint(alert: AlertBody) -> str:
    """The sender's fingerprint; older Alertmanagers send none: the labels' hash stands in for it."""
    if alert.fingerprint:
        return alert.fingerprint
    return hashlib.sha256(json.dumps(alert.labels, sort_keys=True).encode()).hexdigest()[:16]


def notices(body: AlertsBody) -> list[Notice]:
    source = "grafana" if body.orgId is not None else "alertmanager"
    found = []
    for alert in body.alerts:
        ends = alert.endsAt if alert.endsAt is not None and alert.endsAt.year > 1970 else None  # 0001-01-01: none
        found.append(
            Notice(
                status=alert.status,
                labels=alert.labels,
                name=alert.labels.get("alertname", "")[:200] or "alert",
                summary=(alert.annotations.get("summary") or alert.annotations.get("description") or "")[:2000],
                starts_at=alert.startsAt,
                ends_at=ends,
                fingerprint=_fingerprint(alert),
                source_url=_link(alert.generatorURL),
                source=source,
            )
        )
    return found


def authorized(token: str, header: str | None) -> bool:
    given = (header or "").encode()
    return hmac.compare_digest(given, f"Bearer {token}".encode())


async def receive(
    request: web.Request, ctx: ServiceContext, installation: Installation, metrics: Metrics | None
) -> web.Response:
    token = ctx.settings.shipmate_alerts_token
    if not token:
        raise NotConfigured("SHIPMATE_ALERTS_TOKEN is not set on the server, so no alert can be trusted.")
    if not authorized(token, request.headers.get("Authorization")):
        raise BadToken("Send `Authorization: Bearer <SHIPMATE_ALERTS_TOKEN>`.")
    body = fields.parse(AlertsBody, await bodies.read(request, limit=bodies.ALERTS))
    team_id = await alerts_workspace(request, installation)
    logs.bind(team=team_id)
    received = await receive_alerts(ctx.for_team(team_id), team_id, notices(body))
    if metrics is not None:
        for outcome, count in received.outcomes.items():
            metrics.alerts.labels(outcome).inc(count)
    return web.json_response({"ok": True, "alerts": received.outcomes}, status=202)


async def alerts_workspace(request: web.Request, installation: Installation) -> str:
    """One bot token: its workspace. Many workspaces: the one the receiver's URL names (`?team=T…`; each workspace's
    Alertmanager or Grafana sends to its own), when Shipmate is installed there."""
    if not installation.many:
        return await fields.workspace(installation)
    team_id = request.query.get("team", "")
    if not team_id:
        raise InvalidInput(
            "This Shipmate serves many workspaces: name the alerts' workspace in the URL, "
            "`POST /hooks/alerts?team=<team_id>`."
        )
    await fields.require_workspace(installation, team_id)
    return team_id


def handler(
    ctx: ServiceContext, installation: Installation, metrics: Metrics | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def alerts_hook(request: web.Request) -> web.Response:
        return await receive(request, ctx, installation, metrics)

    return alerts_hook
