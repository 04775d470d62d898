"""`/release export <from> <to>`: a release manager gets the production changes of those days as the same CSV
`shipmate export changes` writes, uploaded to them as a file in a direct message through the outbox (sent once
the transaction that records the export commits, retried like every other message). Everyone else is refused,
naming the rule and who may."""

import io
from dataclasses import dataclass
from datetime import date

from bot.domain import permissions
from bot.domain.change import Audit
from bot.domain.permissions import Permission
from bot.services.evidence.change_export import Scope, Stamp, write_csv
from bot.services.kernel import lookup, refusals
from bot.services.kernel.context import Actor, ServiceContext
from storage.repositories import audit, outbox

FILE_KIND = "file"


@dataclass(frozen=True)
class ExportSent:
    stamp: Stamp
    filename: str


async def export_to_person(ctx: ServiceContext, actor: Actor, start: date, end: date) -> ExportSent:
    """Check the rule, write the CSV, and owe the person the file (and the audit trail the export)."""
    doing = permissions.rule(None, Permission.EXPORT).doing().plain()
    async with refusals.audited(ctx, actor, doing, start=start.isoformat(), end=end.isoformat()):
        lookup.check(ctx, actor, await ctx.members(actor.team_id), Permission.EXPORT)
    scope = Scope(actor.team_id, ctx.policy.environment_names[-1], start, end)
    buffer = io.StringIO(newline="")
    stamp = await write_csv(ctx.db, scope, buffer)
    filename = f"production-changes-{start.isoformat()}-to-{end.isoformat()}.csv"
    title = f"Production changes in {scope.environment}, {start.isoformat()} to {end.isoformat()} (UTC)"
    comment = f"{stamp.rows} production changes; audit chain head {stamp.chain_head} at {stamp.exported_at}."
    payload = {"content": buffer.getvalue(), "filename": filename, "title": title, "initial_comment": comment}
    async with ctx.db.transaction() as session:
        outbox.enqueue(session=session, team_id=actor.team_id, kind=FILE_KIND, channel=actor.user_id, payload=payload)
        details = {"from": stamp.start, "to": stamp.end, "rows": stamp.rows, "chain_head": stamp.chain_head}
        audit.append(session, actor.team_id, actor.user_id, Audit.CHANGES_EXPORTED, details=details)
    return ExportSent(stamp, filename)
