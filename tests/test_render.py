"""Rendering once per inputs (`bot/render.py`): a context of plain values renders once and is parsed again from
what was kept; anything that can change under the same identity renders every time; callers own what they get."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar

from bot import render as render_module
from bot.domain.lifecycle import Status
from bot.render import _key, render, render_json, render_text
from storage.models import AuditEvent
from storage.repositories.releases import ReleaseLine


def _lines(summary: str) -> list[ReleaseLine]:
    return [ReleaseLine(7, "payments", "2.4.0", Status.PROPOSED, "U0ALICE", summary)]


def test_the_same_values_render_the_same_answer_and_each_caller_owns_its_copy() -> None:
    first = render("release_list", title="Recent releases", releases=_lines("Faster checkout"), more=True)
    first["blocks"].clear()  # a caller changing its answer (answers are popped and extended)
    first.pop("text")
    again = render("release_list", title="Recent releases", releases=_lines("Faster checkout"), more=True)
    assert "Faster checkout" in again["blocks"][1]["text"]["text"]
    assert again["text"] == "Recent releases"
    other = render("release_list", title="Recent releases", releases=_lines("Slower checkout"), more=True)
    assert "Slower checkout" in other["blocks"][1]["text"]["text"]


@dataclass
class Line:
    """A line that can change in place (like an ORM row): never rendered from what was kept."""

    id: int
    service: str
    version: str
    status: Status
    proposer_id: str
    summary: str


def test_what_can_change_in_place_renders_every_time() -> None:
    line = Line(7, "payments", "2.4.0", Status.PROPOSED, "U0ALICE", "Before")
    assert "Before" in render("release_list", title="t", releases=[line], more=False)["blocks"][1]["text"]["text"]
    line.summary = "After"
    assert "After" in render("release_list", title="t", releases=[line], more=False)["blocks"][1]["text"]["text"]

    event = AuditEvent(team_id="T", release_id=1, actor_id="U0A", action="noted", details={"n": 1})
    event.created_at = datetime(2026, 1, 1, tzinfo=UTC)
    assert "n: 1" in render_text("history_line", event=event)
    event.details = {"n": 2}
    assert "n: 2" in render_text("history_line", event=event)


def test_values_that_are_equal_but_render_apart_are_kept_apart() -> None:
    noon = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert _key("t", {"more": True}) != _key("t", {"more": 1})
    assert _key("t", {"status": Status.PROPOSED}) != _key("t", {"status": "proposed"})
    assert _key("t", {"at": noon}) != _key("t", {"at": noon.astimezone(timezone(timedelta(hours=1)))})
    assert _key("t", {"lines": (1, 2)}) != _key("t", {"lines": [1, 2]}) != _key("t", {"lines": [2, 1]})
    assert _key("t", {"line": Line(7, "p", "1", Status.PROPOSED, "U", "s")}) is None


@dataclass(frozen=True)
class Board:
    """Shared and never changed once built, like the workspace's agenda: keyed once by identity."""

    shared_unchanged: ClassVar[bool] = True
    lines: tuple[str, ...]


def test_a_shared_unchanged_value_is_keyed_once_and_equal_ones_key_alike() -> None:
    board = Board(("payments 2.4.0", "search 1.1"))
    first = _key("t", {"board": board})
    assert render_module._SHARED[id(board)][0] is board  # kept with the object, so its id is not reused
    assert _key("t", {"board": board}) == first == _key("t", {"board": Board(("payments 2.4.0", "search 1.1"))})
    assert _key("t", {"board": Board(("payments 2.4.1", "search 1.1"))}) != first


def test_json_text_is_the_rendered_answer_and_is_kept_as_is() -> None:
    text = render_json("release_list", title="Recent releases", releases=_lines("Faster checkout"), more=True)
    assert json.loads(text) == render(
        "release_list", title="Recent releases", releases=_lines("Faster checkout"), more=True
    )
    assert render_json("release_list", title="Recent releases", releases=_lines("Faster checkout"), more=True) is text
