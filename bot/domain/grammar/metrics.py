"""The delivery metrics command: `metrics [service] [days]`."""

from dataclasses import dataclass

from bot.domain.delivery_metrics import DEFAULT_DAYS, MAX_DAYS
from bot.domain.grammar.arguments import Problem, no_extra, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.validation import check_service, is_number


@dataclass(frozen=True)
class MetricsReport(Command):
    service: str | None = None  # None: every service
    days: int = DEFAULT_DAYS


@verb("metrics", "metrics [service] [days]", examples=("metrics payments 30",))
def _metrics(rest: str) -> Command:
    words, extra = take(rest, 2)
    no_extra(extra)
    if words and is_number(words[-1]):
        days = int(words.pop())
        if not 1 <= days <= MAX_DAYS:
            raise Problem("{days} is not a number of days between 1 and {max}.", days=days, max=MAX_DAYS)
    else:
        days = DEFAULT_DAYS
    if len(words) > 1 or (words and is_number(words[0])):
        raise Problem("Say the service first, then the number of days, like `/release metrics payments 90`.")
    return MetricsReport(check_service(words[0]) if words else None, days)
