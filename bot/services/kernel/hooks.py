"""Follow-ups that features attach to a release's life. The kernel calls them inside the use case's transaction
(anything they write, scheduled jobs or messages, commits with the change); the features register them when their
package is imported (`bot/services/__init__.py` imports them all), so the kernel never imports a feature.

- `after(action)`: the change audited as `action` was applied (a proposal, a deployment, a rollback, a new window);
- `after_status`: the release moved from `facts.before` to its status;
- `after_any`: the release changed in any way (its card shows it): whatever waits on its gates looks again;
- `after_freeze`: a freeze of an environment was lifted.
"""

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.approval_policy import ApprovalState
from bot.domain.change import Audit
from bot.domain.lifecycle import Status
from storage.models import Deployment, Release

if TYPE_CHECKING:
    from bot.services.kernel.context import ServiceContext


@dataclass(frozen=True)
class Facts:
    """What a follow-up may need beyond the release: its status before, the deployment, whether it is new (no
    decisions or jobs to look up yet), the approval states the change was decided with."""

    before: Status | None = None
    deployment: Deployment | None = None
    new: bool = False
    states: tuple[ApprovalState, ...] | None = None


ReleaseHook = Callable[[AsyncSession, "ServiceContext", Release, Facts], Awaitable[None]]
FreezeHook = Callable[[AsyncSession, "ServiceContext", str, str], Awaitable[None]]


class Hooks:
    def __init__(self) -> None:
        self._after: dict[Audit, list[ReleaseHook]] = defaultdict(list)
        self._status: list[ReleaseHook] = []
        self._any: list[ReleaseHook] = []
        self._freeze: list[FreezeHook] = []

    def after(self, *actions: Audit) -> Callable[[ReleaseHook], ReleaseHook]:
        def register(hook: ReleaseHook) -> ReleaseHook:
            for action in actions:
                self._after[action].append(hook)
            return hook

        return register

    def after_status(self, hook: ReleaseHook) -> ReleaseHook:
        self._status.append(hook)
        return hook

    def after_any(self, hook: ReleaseHook) -> ReleaseHook:
        self._any.append(hook)
        return hook

    def after_freeze(self, hook: FreezeHook) -> FreezeHook:
        self._freeze.append(hook)
        return hook

    async def applied(
        self, session: AsyncSession, ctx: "ServiceContext", release: Release, action: Audit, facts: Facts
    ) -> None:
        for hook in self._after.get(action, ()):
            await hook(session, ctx, release, facts)

    async def status_changed(
        self, session: AsyncSession, ctx: "ServiceContext", release: Release, facts: Facts
    ) -> None:
        for hook in self._status:
            await hook(session, ctx, release, facts)

    async def changed(self, session: AsyncSession, ctx: "ServiceContext", release: Release, facts: Facts) -> None:
        for hook in self._any:
            await hook(session, ctx, release, facts)

    async def freeze_lifted(self, session: AsyncSession, ctx: "ServiceContext", team_id: str, environment: str) -> None:
        for hook in self._freeze:
            await hook(session, ctx, team_id, environment)


HOOKS = Hooks()
