"""The process's own side of `shipmate doctor`: the policy in force, the database, secrets, deployers."""

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.doctor.report import Report
from bot.domain import outgoing
from bot.domain.policy import Policy, PolicyError
from bot.policy_source import PRECEDENCE, resolve
from bot.settings import Settings
from storage.db import Database
from storage.migrate import current_revision, head_revision
from storage.repositories import calendar_tokens

# What an unset secret means; FAIL where `shipmate run` cannot work without it.
UNSET: dict[str, tuple[str, str]] = {
    "slack_app_token": ("ok", "not set: HTTP mode (Socket Mode needs it)"),
    "shipmate_webhook_secret": ("warn", "not set: POST /hooks/deployments refuses every delivery"),
    "shipmate_metrics_token": ("warn", "not set: GET /metrics answers anyone who can reach the server"),
    "shipmate_alerts_token": ("ok", "not set: POST /hooks/alerts refuses every alert (no soak or rollback on alerts)"),
}


def check_policy(report: Report, settings: Settings) -> Policy | None:
    try:
        source = resolve(settings)
    except PolicyError as exc:
        report.fail("policy", f"{exc} (order: {PRECEDENCE})")
        return None
    envs = " → ".join(source.policy.environment_names)
    note = f"; {source.note}" if source.note else ""
    report.ok("policy", f"{source.origin}: {envs}{note} (order: {PRECEDENCE})")
    return source.policy


async def check_database(report: Report, settings: Settings, team_id: str | None) -> None:
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if _sqlite_file_missing(settings.database_url):  # connecting would create an empty file
        report.fail("database", f"{shown}: no database file yet; `shipmate db upgrade` or `shipmate run` makes it")
        return
    db = Database(settings.database_url)
    try:
        try:
            async with asyncio.timeout(15):
                current = await current_revision(db)
        except Exception as exc:  # unreachable, refused, unknown database…: say which, without the password
            reason = str(exc).splitlines()[0] if str(exc) else ""
            if url.password:
                reason = reason.replace(str(url.password), "***")
            report.fail("database", f"{shown}: unreachable ({type(exc).__name__}: {reason[:200]})")
            return
        head = head_revision()
        if current == head:
            report.ok("database", f"{shown}: reachable, migrated to the latest revision ({head})")
        elif current is None:
            report.fail("database", f"{shown}: reachable but never migrated; run `shipmate db upgrade`")
            return
        else:
            report.fail("database", f"{shown}: at revision {current}, this version needs {head}: `shipmate db upgrade`")
            return
        if team_id:
            async with db.read() as session:
                feed = await calendar_tokens.live(session=session, team_id=team_id)
            if feed is None:
                report.ok("calendar feed", "no link issued (a release manager makes one: /release calendar link)")
            else:
                made = feed.created_at.strftime("%Y-%m-%d")
                report.ok("calendar feed", f"a secret link is live, made by {feed.created_by} on {made}")
    finally:
        await db.dispose()


def _sqlite_file_missing(database_url: str) -> bool:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    return not Path(str(url.database)).exists()


def check_secrets(report: Report, settings: Settings) -> None:
    """Which secrets and tokens are set (never their values). Every `*_secret`/`*_token` setting is listed."""
    socket_mode = bool(settings.slack_app_token)
    for name in type(settings).model_fields:
        if not name.endswith(("_secret", "_token")) or name == "slack_bot_token":
            continue
        variable = name.upper()
        if getattr(settings, name):
            report.ok(variable, "set")
        elif name == "slack_signing_secret":
            if socket_mode:
                report.ok(variable, "not set: not needed in Socket Mode")
            else:
                report.fail(variable, "not set: HTTP mode cannot verify Slack's requests (Basic Information page)")
        else:
            status, meaning = UNSET.get(name, ("ok", "not set"))
            report.add("warn" if status == "warn" else "ok", variable, meaning)


def check_deployers(report: Report, policy: Policy | None) -> None:
    """Who or what deploys, as the policy has it: `[services.*] deploy` and `[[environments]] deployers`."""
    if policy is None:
        report.skip("deployers", "the policy could not be read")
        return
    data = policy.model_dump()
    found = False
    for service, settings in sorted(data.get("services", {}).items()):
        deploy = settings.get("deploy") if isinstance(settings, dict) else None
        if deploy:
            found = True
            report.ok(f"deployer of {service}", _describe(deploy))
    for env in data.get("environments", []):
        if env.get("deployers"):
            found = True
            report.ok(f"deployers of {env['name']}", ", ".join(env["deployers"]))
    if not found:
        report.ok("deployers", "none configured: people record deployments (/release deploy), CI reports them")


def _describe(deploy: Any) -> str:
    if not isinstance(deploy, dict):
        return str(deploy)
    parts = []
    for key, value in deploy.items():
        if value is None or value is False or value in ("", [], {}):
            continue
        shown = outgoing.redact(value) if isinstance(value, str) and key == "webhook" else value
        parts.append(f"{key} {shown}")
    return ", ".join(parts)
