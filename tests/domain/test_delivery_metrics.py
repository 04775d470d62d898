"""The delivery metric definitions on hand-built histories, with each figure worked out by hand, and the levels at
the 2024 State of DevOps Report's boundaries."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from bot.domain import delivery_report
from bot.domain.delivery_metrics import (
    MEDIAN,
    P90,
    Facts,
    Level,
    Measures,
    Period,
    ProdDeployment,
    facts_of,
    failure_rate_level,
    frequency_level,
    lead_time_level,
    percentile_of,
    rank_bounds,
    restore_level,
)

T0 = datetime(2026, 3, 2, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
PERIOD = Period(T0, T0 + 30 * D)


def dep(
    n: int, at: timedelta, lead: timedelta, *, service: str = "payments", ok: bool = True, failed: bool = False
) -> ProdDeployment:
    return ProdDeployment(n, service, T0 + at, ok, T0 + at - lead, failed)


def test_no_deployments_means_no_figures() -> None:
    facts = facts_of([], PERIOD)
    assert facts == Facts()
    measures = Measures(PERIOD, facts)
    assert measures.per_day == 0
    assert measures.frequency_level is Level.LOW
    assert (measures.failure_rate, measures.lead_median, measures.restore_median) == (None, None, None)
    assert (measures.lead_time_level, measures.failure_rate_level, measures.restore_level) == (None, None, None)


def test_a_single_deployment_is_its_own_median_and_p90() -> None:
    facts = facts_of([dep(1, 2 * D, 5 * H)], PERIOD)
    assert facts == Facts(deployments=1, lead_median=5 * 3600, lead_p90=5 * 3600)
    measures = Measures(PERIOD, facts)
    assert measures.per_day == pytest.approx(1 / 30)
    assert measures.failure_rate == 0
    assert measures.failure_rate_level is Level.ELITE  # 0 of 1 failed
    assert measures.restore_level is None  # nothing failed: nothing to restore


def test_a_worked_month() -> None:
    """Four deployments of payments and one of search in the period; one before it, one CI failure, one after.
    Leads 2, 4, 6, 30, 50 h: median 6 h; p90 at rank 0.9 × 4 = 3.6: 30 + 0.6 × 20 = 42 h. Failures #3 and #6:
    #3 is restored by #5 (#4 failed at CI) 10 h later; #6 by #8 (after the period) 28 days later (672 h): median
    (10 + 672) / 2 = 341 h."""
    history = [
        dep(1, -2 * D, 1 * H),  # before the period
        dep(2, 1 * D, 2 * H),
        dep(3, 2 * D, 4 * H, failed=True),
        dep(4, 2 * D + 5 * H, 1 * H, ok=False),  # CI reported a failure: nothing changed, counts nowhere
        dep(5, 2 * D + 10 * H, 6 * H),
        dep(6, 3 * D, 30 * H, service="search", failed=True),
        dep(7, 4 * D, 50 * H),
        dep(8, 31 * D, 1 * H, service="search"),  # after the period, but it ends search's outage
    ]
    facts = facts_of(history, PERIOD)
    assert facts == Facts(
        deployments=5, failures=2, lead_median=6 * 3600, lead_p90=42 * 3600, restored=2, restore_median=341 * 3600
    )
    m = Measures(PERIOD, facts)
    assert m.per_day == pytest.approx(5 / 30)
    assert m.per_week == pytest.approx(35 / 30)
    assert m.failure_rate == pytest.approx(0.4)
    assert (m.frequency_level, m.lead_time_level, m.failure_rate_level, m.restore_level) == (
        Level.HIGH,  # 1/6 a day: between once a day and once a week
        Level.ELITE,  # a median under a day
        Level.LOW,  # 40 %
        Level.LOW,  # a week or more
    )


def test_rollbacks_of_rollbacks() -> None:
    """1.1 and 1.2 are both rolled back (the second rollback undid the version the first restored): two failures
    of four deployments; each is restored by 1.3, the next deployment that did not fail: after 2 days and 1 day."""
    history = [
        dep(1, 1 * D, H),
        dep(2, 2 * D, H, failed=True),
        dep(3, 3 * D, H, failed=True),
        dep(4, 4 * D, H),
    ]
    facts = facts_of(history, PERIOD)
    assert (facts.deployments, facts.failures, facts.restored, facts.restore_median) == (4, 2, 2, 1.5 * 86400)


def test_a_failure_not_restored_yet_is_counted_but_has_no_time() -> None:
    facts = facts_of([dep(1, D, H), dep(2, 2 * D, H, failed=True)], PERIOD)
    assert (facts.failures, facts.restored, facts.unrestored, facts.restore_median) == (1, 0, 1, None)
    lines = delivery_report.lines(Measures(PERIOD, facts))
    assert lines[3].value == "not yet"
    assert lines[3].detail == "0 restored, 1 not yet"


def test_a_commit_after_the_deployment_gives_zero_not_a_negative_lead_time() -> None:
    assert facts_of([dep(1, D, -H)], PERIOD).lead_median == 0


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], MEDIAN, None),
        ([7.0], P90, 7.0),
        ([1.0, 3.0], MEDIAN, 2.0),
        ([1.0, 2.0, 3.0, 4.0], P90, 3.7),  # rank 2.7: 3 + 0.7 × 1
        ([10.0, 0.0, 5.0], MEDIAN, 5.0),  # order does not matter
    ],
)
def test_percentiles_interpolate_like_percentile_cont(values: list[float], fraction: Fraction, expected: float) -> None:
    found = percentile_of(values, fraction)
    assert found == (None if expected is None else pytest.approx(expected))


def test_rank_bounds_are_exact_fractions() -> None:
    assert rank_bounds(11, P90) == (9, 10, Fraction(0))  # 0.9 × 10 is 9 exactly, not 8.999…
    assert rank_bounds(4, MEDIAN) == (1, 2, Fraction(1, 2))


@pytest.mark.parametrize(
    ("per_day", "level"),
    [(3.0, Level.ELITE), (1.0, Level.ELITE), (0.99, Level.HIGH), (1 / 7, Level.HIGH), (0.14, Level.MEDIUM),
     (1 / 30, Level.MEDIUM), (0.03, Level.LOW), (0.0, Level.LOW)],
)  # fmt: skip
def test_frequency_levels(per_day: float, level: Level) -> None:
    assert frequency_level(per_day) is level


@pytest.mark.parametrize(
    ("median", "level"),
    [(23 * H, Level.ELITE), (D, Level.HIGH), (7 * D, Level.HIGH), (7 * D + H, Level.MEDIUM), (30 * D, Level.MEDIUM),
     (31 * D, Level.LOW)],
)  # fmt: skip
def test_lead_time_levels(median: timedelta, level: Level) -> None:
    assert lead_time_level(median) is level


@pytest.mark.parametrize(
    ("rate", "level"),
    [(0.0, Level.ELITE), (0.05, Level.ELITE), (0.06, Level.HIGH), (0.10, Level.HIGH), (0.20, Level.HIGH),
     (0.21, Level.MEDIUM), (0.39, Level.MEDIUM), (0.40, Level.LOW), (1.0, Level.LOW)],
)  # fmt: skip
def test_failure_rate_levels(rate: float, level: Level) -> None:
    assert failure_rate_level(rate) is level


@pytest.mark.parametrize(
    ("median", "level"),
    [(59 * timedelta(minutes=1), Level.ELITE), (H, Level.HIGH), (23 * H, Level.HIGH), (D, Level.MEDIUM),
     (6 * D, Level.MEDIUM), (7 * D, Level.LOW), (40 * D, Level.LOW)],
)  # fmt: skip
def test_restore_levels(median: timedelta, level: Level) -> None:
    assert restore_level(median) is level


def test_periods_and_their_weeks() -> None:
    assert PERIOD.previous() == Period(T0 - 30 * D, T0)
    assert PERIOD.days == 30
    weeks = PERIOD.weeks()
    assert [w.start for w in weeks] == [T0, T0 + 2 * D, T0 + 9 * D, T0 + 16 * D, T0 + 23 * D]
    assert [w.end for w in weeks] == [T0 + 2 * D, T0 + 9 * D, T0 + 16 * D, T0 + 23 * D, T0 + 30 * D]
    assert [PERIOD.week_of(T0), PERIOD.week_of(T0 + 2 * D), PERIOD.week_of(T0 + 30 * D - H)] == [0, 1, 4]
    four = Period.ending(T0 + 28 * D, 28)
    assert len(four.weeks()) == 4
    assert four.week_of(four.start) == 0  # a whole number of weeks has no cut-short week


def test_lines_compare_with_the_previous_period() -> None:
    before = Measures(PERIOD.previous(), Facts(deployments=3, failures=0, lead_median=10 * 3600, lead_p90=10 * 3600))
    now = Measures(
        PERIOD, Facts(deployments=6, failures=3, lead_median=2 * 3600, lead_p90=5 * 3600, restored=3,
                      restore_median=1800)
    )  # fmt: skip
    frequency, lead, failure, restore = delivery_report.lines(now, before)
    assert (frequency.value, frequency.change) == ("1.4/week", "▲ from 0.7/week (better)")
    assert (lead.value, lead.detail, lead.change) == ("median 2.0 h", "p90 5.0 h", "▼ from 10.0 h (better)")
    assert (failure.value, failure.detail, failure.change) == ("50%", "3 of 6 rolled back or failed verification",
                                                               "▲ from 0% (worse)")  # fmt: skip
    assert (restore.value, restore.level, restore.change) == (
        "median 30 min",
        Level.ELITE,
        "nothing to compare with before",
    )
    assert frequency.level_text == "🔵 high"


def test_alt_text_carries_the_numbers() -> None:
    measures = Measures(PERIOD, Facts(deployments=2, failures=1, lead_median=3600, lead_p90=3600))
    weeks = [
        delivery_report.Week(span, Facts(deployments=n, failures=f, lead_median=3600 if n else None))
        for span, (n, f) in zip(PERIOD.weeks(), [(0, 0), (2, 1), (0, 0), (0, 0), (0, 0)], strict=True)
    ]
    text = delivery_report.alt_text("payments, last 30 days", weeks, measures)
    assert "04 Mar: 2 deployments (1 failed), median lead time 1.0 h" in text
    assert "02 Mar (part): 0 deployments" in text
    assert "Change failure rate: 50%" in text
    assert len(delivery_report.alt_text("x", weeks * 40, measures)) == 2000
