"""The reporting commands: the delivery metrics, `metrics [service] [days]`, and the evidence export,
`export <from> <to>`."""

from dataclasses import dataclass
from datetime import date

from bot.domain.delivery_metrics import DEFAULT_DAYS, MAX_DAYS
from bot.domain.grammar.arguments import Problem, no_extra, take
from bot.domain.grammar.registry import Command, verb
from bot.domain.message import Code
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


EXPORT_MAX_DAYS = 366


@dataclass(frozen=True)
class Export(Command):
    start: date
    end: date  # included


def _day(word: str) -> date:
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise Problem(
            "{word} is not a date: write it as YYYY-MM-DD, like `/release export 2026-01-01 2026-03-31`.",
            word=Code(word, 30),
        ) from None


@verb("export", "export <from> <to>", examples=("export 2026-01-01 2026-03-31",))
def _export(rest: str) -> Command:
    words, extra = take(rest, 2)
    no_extra(extra)
    if len(words) < 2:
        raise Problem("Say the first and the last day (UTC), like `/release export 2026-01-01 2026-03-31`.")
    start, end = _day(words[0]), _day(words[1])
    if end < start:
        raise Problem("{end} is before {start}: say the first day, then the last.", end=str(end), start=str(start))
    if (end - start).days >= EXPORT_MAX_DAYS:
        raise Problem(
            "That is more than {max} days; export longer ranges with `shipmate export changes`.", max=EXPORT_MAX_DAYS
        )
    return Export(start, end)
