"""Freeze arithmetic: weekly spans in a time zone across DST changes, explicit dates, and the freeze gate."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import freezes
from bot.domain.freezes import FreezeWindow, parse_every, wall_to_utc, weekly_occurrences
from bot.domain.gates import GateFacts, freeze_gate
from bot.domain.lifecycle import Status
from bot.domain.policy import Environment, parse_policy
from bot.slack_text import mrkdwn

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "weekday", "days"),
    [
        ("fri 16:00 - mon 08:00", 4, 3),
        ("sat 00:00 - sun 23:59", 5, 1),
        ("mon 09:00 - mon 17:00", 0, 0),
        ("mon 17:00 - mon 09:00", 0, 7),  # ends before it starts: wraps into next week
        ("sun 22:00 - mon 02:00", 6, 1),
    ],
)
def test_parse_every(text: str, weekday: int, days: int) -> None:
    span = parse_every(text)
    assert (span.weekday, span.days) == (weekday, days)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("fri 16:00 mon 08:00", "is not like 'fri 16:00 - mon 08:00'"),
        ("fri 24:00 - mon 08:00", "24:00 is not a time of day"),
        ("friday 16:00 - mon 08:00", "is not like 'fri 16:00 - mon 08:00'"),
    ],
)
def test_parse_every_refuses_malformed(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_every(text)


def test_weekend_freeze_keeps_wall_times_across_spring_forward() -> None:
    span = parse_every("fri 16:00 - mon 08:00")
    found = weekly_occurrences(span, BERLIN, utc(2026, 3, 20), utc(2026, 4, 6))
    assert found[0] == (utc(2026, 3, 20, 15), utc(2026, 3, 23, 7))  # CET, UTC+1
    # The weekend the clocks go forward (29 March): starts 16:00 CET, ends 08:00 CEST, one hour shorter.
    assert found[1] == (utc(2026, 3, 27, 15), utc(2026, 3, 30, 6))
    assert found[1][1] - found[1][0] == timedelta(hours=63)
    assert found[2][0] == utc(2026, 4, 3, 14)  # CEST, UTC+2
    for start, end in found:
        assert start.astimezone(BERLIN).strftime("%a %H:%M") == "Fri 16:00"
        assert end.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 08:00"


def test_weekend_freeze_across_fall_back_is_one_hour_longer() -> None:
    span = parse_every("fri 16:00 - mon 08:00")
    found = weekly_occurrences(span, BERLIN, utc(2026, 10, 24), utc(2026, 10, 25))
    assert found == [(utc(2026, 10, 23, 14), utc(2026, 10, 26, 7))]
    assert found[0][1] - found[0][0] == timedelta(hours=65)


def test_us_dst_dates_differ_from_europe() -> None:
    span = parse_every("fri 16:00 - mon 08:00")
    (first,) = weekly_occurrences(span, NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 8))
    assert first == (utc(2026, 3, 6, 21), utc(2026, 3, 9, 12))  # EST start, EDT end (8 March)


def test_nonexistent_wall_time_is_the_instant_of_the_change() -> None:
    # 02:30 does not happen in Berlin on 29 March 2026: clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    assert wall_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN) == utc(2026, 3, 29, 1)
    assert wall_to_utc(datetime(2026, 3, 29, 2, 30), BERLIN, latest=True) == utc(2026, 3, 29, 1)


def test_ambiguous_wall_time_starts_early_and_ends_late() -> None:
    # 02:30 happens twice in Berlin on 25 October 2026 (CEST, then CET).
    assert wall_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)
    assert wall_to_utc(datetime(2026, 10, 25, 2, 30), BERLIN, latest=True) == utc(2026, 10, 25, 1, 30)


def test_span_inside_a_dst_gap_still_has_an_occurrence() -> None:
    span = parse_every("sun 02:15 - sun 02:45")
    (gap,) = weekly_occurrences(span, BERLIN, utc(2026, 3, 29), utc(2026, 3, 30))
    assert gap[0] == gap[1] == utc(2026, 3, 29, 1)  # both ends fall in the skipped hour: an empty occurrence
    (normal,) = weekly_occurrences(span, BERLIN, utc(2026, 4, 5), utc(2026, 4, 6))
    assert normal[1] - normal[0] == timedelta(minutes=30)


POLICY = """
release_managers = ["U0RM"]
timezone = "Europe/Berlin"

[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[freezes]]
environments = ["prod"]
every = "fri 16:00 - mon 08:00"
reason = "weekend"

[[freezes]]
environments = ["prod", "dev"]
start = "2026-12-24"
end = "2026-12-26"
reason = "holidays"
timezone = "America/New_York"
"""


def test_policy_freezes_cover_and_list() -> None:
    policy = parse_policy(POLICY)
    saturday = utc(2026, 6, 13, 12)
    assert [w.reason for w in freezes.covering(freezes.policy_windows(policy, saturday, saturday), "prod", saturday)]
    windows = freezes.policy_windows(policy, saturday - timedelta(days=1), saturday + timedelta(days=1))
    (weekend,) = freezes.covering(windows, "prod", saturday)
    assert weekend.reason == "weekend"
    assert weekend.recurring
    assert weekend.end == utc(2026, 6, 15, 6)
    assert freezes.covering(windows, "dev", saturday) == []
    assert freezes.covering(windows, "prod", utc(2026, 6, 15, 6)) == []  # the end is exclusive


def test_explicit_dates_are_whole_days_in_their_zone() -> None:
    policy = parse_policy(POLICY)
    (holidays,) = [
        w for w in freezes.policy_windows(policy, utc(2026, 12, 1), utc(2027, 1, 1)) if w.reason == "holidays"
    ]
    assert holidays.start == utc(2026, 12, 24, 5)  # midnight in New York
    assert holidays.end == utc(2026, 12, 27, 5)  # end date inclusive: until the end of 26 December
    assert holidays.environments == {"prod", "dev"}


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ('every = "fri 25:00 - mon 08:00"', "outside 00:00-23:59"),
        ('start = "2026-12-24"\nend = "soon"', "ISO 8601"),
        ('start = "2026-12-24"\nend = "2026-12-01"', "before start"),
    ],
)
def test_policy_check_refuses_bad_freezes(snippet: str, message: str) -> None:
    from bot.domain.policy import PolicyError

    text = f'[[freezes]]\nenvironments = ["prod"]\n{snippet}\nreason = "x"\n'
    with pytest.raises(PolicyError, match=message):
        parse_policy(text)


def _facts(active: list[FreezeWindow], *, override: str | None = None, manager: bool = False) -> GateFacts:
    return GateFacts(
        ref="payments@2.4.0",
        status=Status.APPROVED,
        environment=Environment(name="prod"),
        previous_environment="qa",
        deployed_to_previous=True,
        approvals=None,
        regression_passed_in_previous=None,
        freezes=[w.as_active() for w in active],
        override_reason=override,
        actor_is_release_manager=manager,
    )


ONE_OFF = FreezeWindow(frozenset({"prod"}), utc(2026, 6, 1), utc(2026, 6, 2, 18), "quarter close <!channel>", 12)


def test_gate_refuses_naming_the_freeze_and_its_end() -> None:
    refusal = freeze_gate(_facts([ONE_OFF]))
    assert refusal is not None
    assert refusal.gate == "freeze"
    assert "freeze #12" in mrkdwn(refusal.message)
    assert "quarter close" in mrkdwn(refusal.message)
    assert "&lt;!channel&gt;" in mrkdwn(refusal.message)
    assert "<!channel>" not in mrkdwn(refusal.message)
    assert f"<!date^{int(ONE_OFF.end.timestamp())}^" in mrkdwn(refusal.message)
    assert "--override" in mrkdwn(refusal.message)


def test_gate_lets_a_release_manager_override_and_no_one_else() -> None:
    assert freeze_gate(_facts([ONE_OFF], override="hotfix", manager=True)) is None
    refusal = freeze_gate(_facts([ONE_OFF], override="hotfix", manager=False))
    assert refusal is not None
    assert "only a release manager" in mrkdwn(refusal.message)
    assert freeze_gate(_facts([])) is None


def test_domain_modules_stay_pure() -> None:
    import ast
    from pathlib import Path

    for name in ("freezes.py", "windows.py"):
        tree = ast.parse((Path(freezes.__file__).parent / name).read_text())
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & {"slack_sdk", "slack_bolt", "sqlmodel", "sqlalchemy", "aiohttp", "storage"}, name
