"""Many workspaces in `shipmate doctor`: the policies of SHIPMATE_POLICY_DIR, then every installed workspace (or
organisation): its token opens with SHIPMATE_ENCRYPTION_KEY and Slack accepts it, its scopes, and its policy's
channels and people as that workspace sees them. Only reads: `auth.test`, `conversations.info`, `users.info`,
`usergroups.list`."""

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.doctor.report import Report
from bot.doctor.slack_checks import TRANSPORT, check_channels, check_people, granted_scopes, slack_error
from bot.domain.policy import PolicyError
from bot.domain.policy_book import PolicyBook
from bot.manifest import BOT_SCOPES
from bot.policy_dir import load
from bot.settings import Settings
from bot.slack_app import web_client
from storage.db import Database
from storage.installation_store import SealedInstallationStore
from storage.token_cipher import TokenCipher, UnreadableToken


def check_policies(report: Report, settings: Settings) -> PolicyBook | None:
    try:
        found = load(settings)
    except PolicyError as exc:
        report.fail("policies", str(exc))
        return None
    owners = ", ".join(sorted(found.owners)) or "none"
    report.ok("policies", f"{found.origin}: workspace files {owners}; the rest use default.toml")
    return found


async def check_installations(report: Report, settings: Settings, book: PolicyBook | None) -> None:
    db = Database(settings.database_url)
    try:
        store = SealedInstallationStore(
            client_id=settings.slack_client_id, db=db, cipher=TokenCipher(settings.shipmate_encryption_key)
        )
        b = store.bots.c
        try:
            async with db.read() as session:
                rows = (
                    await session.exec(  # type: ignore[call-overload]
                        select(b.enterprise_id, b.team_id, b.is_enterprise_install)
                        .where(b.client_id == settings.slack_client_id, b.bot_token.is_not(None))
                        .distinct()
                    )
                ).all()
        except Exception as exc:  # the database check says why; here, which part is missing
            report.skip("installations", f"the installation store cannot be read ({type(exc).__name__})")
            return
        if not rows:
            report.warn("installations", "no workspace has installed Shipmate yet: open /slack/install")
            return
        for enterprise_id, team_id, org_wide in rows:
            await _check_installation(report, settings, store, book, enterprise_id, team_id, bool(org_wide))
    finally:
        await db.dispose()


async def _check_installation(
    report: Report,
    settings: Settings,
    store: SealedInstallationStore,
    book: PolicyBook | None,
    enterprise_id: str | None,
    team_id: str | None,
    org_wide: bool,
) -> None:
    name = f"installation {team_id or enterprise_id}" + (" (org-wide)" if org_wide else "")
    try:
        bot = await store.async_find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_wide)
    except UnreadableToken as exc:
        report.fail(name, f"{exc}: was SHIPMATE_ENCRYPTION_KEY changed? Install the app again")
        return
    if bot is None or not bot.bot_token:
        report.fail(name, "no bot token: install the app again")
        return
    client: AsyncWebClient = web_client(settings)
    client.token = bot.bot_token
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        report.fail(name, f"Slack refused its token ({slack_error(exc)}): install the app again")
        return
    except TRANSPORT as exc:
        report.fail(name, f"cannot reach Slack at {settings.slack_api_url} ({type(exc).__name__})")
        return
    granted = granted_scopes(auth.headers) or set(BOT_SCOPES)
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    if missing:
        report.fail(name, f"missing scopes {', '.join(missing)}: install the app again")
    else:
        report.ok(name, f"token valid for {auth.get('team') or auth.get('url') or team_id or enterprise_id}")
    if book is None:
        return
    policy = book.for_team(team_id, enterprise_id)
    report.ok(f"{name} policy", book.origin_for(team_id or "", enterprise_id))
    await check_channels(report, client, policy, granted)
    await check_people(report, client, policy)
