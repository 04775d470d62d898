"""`/release metrics [service] [days]`: what it parses to, and the refusals that show its usage."""

import pytest

from bot.domain import grammar
from bot.domain.grammar import Command, UsageError
from bot.domain.grammar.metrics import MetricsReport


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics", MetricsReport(None, 30)),
        ("METRICS", MetricsReport(None, 30)),
        ("metrics payments", MetricsReport("payments", 30)),
        ("metrics 90", MetricsReport(None, 90)),
        ("metrics payments 7", MetricsReport("payments", 7)),
        ("metrics   payments   365", MetricsReport("payments", 365)),
    ],
)
def test_metrics_parses(text: str, expected: Command) -> None:
    assert grammar.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("metrics payments 0", "0 is not a number of days between 1 and 365."),
        ("metrics 366", "366 is not a number of days between 1 and 365."),
        ("metrics 7 payments", "Say the service first, then the number of days"),
        ("metrics 7 30", "Say the service first, then the number of days"),
        ("metrics payments 7 more", "Unexpected `more` at the end."),
    ],
)
def test_metrics_refusals_show_the_usage(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as refused:
        grammar.parse(text)
    assert problem in refused.value.plain
    assert refused.value.plain.endswith("Usage: `/release metrics [service] [days]`")
