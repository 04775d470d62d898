"""`shipmate team purge <team_id>`: a workspace that removed Shipmate leaves its releases and their history behind
(a reinstall finds them); this deletes them for good. Without `--yes` it only says what would go. A workspace
that still has Shipmate installed is refused: uninstall it first (Slack then stops its work too)."""

from collections.abc import Callable

from bot.domain.policy_book import OWNER
from bot.settings import Settings
from storage.db import Database
from storage.models.installations import slack_bots
from storage.repositories import purge


async def run(settings: Settings, team_id: str, *, yes: bool, say: Callable[[str], None]) -> int:
    if not OWNER.match(team_id) or not team_id.startswith("T"):
        say(f"{team_id!r} is not a workspace id (T…): `shipmate team purge T0123ABC`")
        return 2
    db = Database(settings.database_url)
    try:
        async with db.read() as session:
            installed = (
                await session.exec(  # type: ignore[call-overload]
                    slack_bots.select().where(slack_bots.c.team_id == team_id, slack_bots.c.bot_token.is_not(None))
                )
            ).first()
            found = await purge.counts(session=session, team_id=team_id)
        if installed is not None:
            say(f"{team_id} still has Shipmate installed: remove the app from that workspace first")
            return 1
        if not found:
            say(f"nothing is kept for {team_id}")
            return 0
        listed = ", ".join(f"{table} {n}" for table, n in sorted(found.items()))
        if not yes:
            say(f"would delete for {team_id}: {listed}; run again with --yes to delete them for good")
            return 0
        async with db.transaction() as session:
            deleted = await purge.delete_team(session=session, team_id=team_id)
        say(f"deleted for {team_id}: {', '.join(f'{t} {n}' for t, n in sorted(deleted.items()))}")
        return 0
    finally:
        await db.dispose()
