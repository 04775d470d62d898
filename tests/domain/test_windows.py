"""Conflicts between planned windows, and between windows and freezes."""

from datetime import UTC, datetime, timedelta

from bot.domain.freezes import FreezeWindow
from bot.domain.windows import PlannedWindow, by_release, conflicts, conflicts_of, describe
from bot.slack_text import mrkdwn

T0 = datetime(2026, 6, 1, 10, tzinfo=UTC)
H = timedelta(hours=1)


def window(release_id: int, start: datetime, hours: int = 1, env: str = "prod") -> PlannedWindow:
    return PlannedWindow(release_id, f"svc{release_id}@1.0.0", env, start, start + hours * H)


def test_overlapping_windows_are_flagged_once_per_pair() -> None:
    a, b, c = window(1, T0, 2), window(2, T0 + H), window(3, T0 + 2 * H)  # c starts when a ends: no clash
    found = conflicts([c, b, a], [])
    assert [(x.window.release_id, x.other.release_id if x.other else None) for x in found] == [(1, 2)]
    assert set(by_release(found)) == {1, 2}


def test_windows_in_other_environments_do_not_clash() -> None:
    assert conflicts([window(1, T0), window(2, T0, env="qa")], []) == []


def test_a_window_in_a_freeze_of_its_environment_is_flagged() -> None:
    weekend = FreezeWindow(frozenset({"prod"}), T0 + 30 * timedelta(minutes=1), T0 + 10 * H, "weekend")
    dev_only = FreezeWindow(frozenset({"dev"}), T0 - H, T0 + 10 * H, "dev freeze", 7)
    found = conflicts([window(1, T0)], [weekend, dev_only])
    assert [(x.kind, x.freeze) for x in found] == [("freeze", weekend)]
    assert "policy freeze" in mrkdwn(describe(found[0]))
    assert "weekend" in mrkdwn(describe(found[0]))


def test_conflicts_of_one_window_name_the_other_release() -> None:
    mine, theirs = window(1, T0, 2), window(2, T0 + H)
    frozen = FreezeWindow(frozenset({"prod"}), T0, T0 + H, "close <b>", 4)
    found = conflicts_of(mine, [mine, theirs], [frozen])
    assert [x.kind for x in found] == ["overlap", "freeze"]
    assert mrkdwn(describe(found[0], 1)).startswith("*svc1@1.0.0* overlaps *svc2@1.0.0*")
    assert mrkdwn(describe(found[0], 2)).startswith("*svc2@1.0.0* overlaps *svc1@1.0.0*")
    assert "freeze #4" in mrkdwn(describe(found[1]))
    assert "&lt;b&gt;" in mrkdwn(describe(found[1]))
