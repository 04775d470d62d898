"""The use cases. The kernel (`kernel/`) is the bottom floor; each feature package plugs its follow-ups and job
runners into it when imported, so every feature is imported here: whatever imports a service gets them all."""

from bot.services import (  # noqa: F401  (imported for what they register with the kernel)
    approvals,
    change,
    deploys,
    health,
    metrics,
    pipeline,
    releases,
    reviews,
)
from bot.services.approvals import retro  # noqa: F401
from bot.services.change import cab, conflicts  # noqa: F401
from bot.services.deploys import deploy_requests  # noqa: F401
from bot.services.metrics import metrics_digest  # noqa: F401
from bot.services.pipeline import github_events  # noqa: F401
from bot.services.releases import commits, notes  # noqa: F401
from bot.services.reminders import approval_digest, planning, runners  # noqa: F401
from bot.services.reviews import reviews as _reviews  # noqa: F401
