"""The weekly digest's schedule: the policy's `[metrics]` table, and the next slot in its own time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.policy import PolicyError, parse_policy
from bot.domain.reminders import digest_key, next_weekly

BERLIN = ZoneInfo("Europe/Berlin")


def test_metrics_table() -> None:
    policy = parse_policy('[metrics]\ndigest = "Mon 09:00"\ntimezone = "Europe/Berlin"\n')
    assert (policy.metrics.digest, policy.metrics.timezone) == ("mon 09:00", "Europe/Berlin")
    assert parse_policy("").metrics.digest is None  # off when absent


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ('digest = "mon 25:00"', "policy:2: metrics.digest: 'mon 25:00' is not a weekday and a time of day"),
        ('digest = "monday 9:00"', "policy:2: metrics.digest: 'monday 9:00' is not a weekday and a time of day"),
        ('timezone = "Mars/Olympus"', "policy:2: metrics.timezone: 'Mars/Olympus' is not an IANA time zone"),
        ('digest_at = "mon 09:00"', "policy:2: metrics.digest_at: unknown key"),
    ],
)
def test_a_wrong_schedule_names_key_and_line(line: str, shown: str) -> None:
    with pytest.raises(PolicyError, match="^" + shown):
        parse_policy(f"[metrics]\n{line}\n")


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2026, 3, 2, 7, 59, tzinfo=UTC), datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),  # CET: 09:00 is 08:00 UTC
        (datetime(2026, 3, 2, 8, 0, tzinfo=UTC), datetime(2026, 3, 9, 8, 0, tzinfo=UTC)),  # strictly after
        (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),  # CEST from the 29th
    ],
)
def test_next_slot_is_wall_time_in_its_zone(after: datetime, expected: datetime) -> None:
    assert next_weekly("mon 09:00", BERLIN, after) == expected


def test_a_new_schedule_is_a_new_job() -> None:
    assert digest_key("mon 09:00", "UTC") != digest_key("mon 09:00", "Europe/Berlin")
