"""The board's stylesheet meets WCAG 2.1 AA contrast: every rule that sets both a text colour and a background has
at least 4.5:1, and so do the page's text colours on its backgrounds."""

import re
from importlib.resources import files

import pytest

CSS = files("templates").joinpath("web/board.css").read_text(encoding="utf-8")
AA = 4.5


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", CSS)
    assert root is not None
    return dict(re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})", root.group(1)))


def _colour(value: str) -> str | None:
    value = value.strip()
    named = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if named:
        return _variables()[named.group(1)]
    return value if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None


def _luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _pairs() -> list[tuple[str, str, str]]:
    found = []
    for selector, body in re.findall(r"([^{}]+){([^{}]*)}", CSS):
        decls = dict(re.findall(r"(?:^|;)\s*([\w-]+)\s*:\s*([^;]+)", body))
        fg, bg = _colour(decls.get("color", "")), _colour(decls.get("background", ""))
        if fg and bg:
            found.append((selector.strip(), fg, bg))
    return found


def test_the_stylesheet_has_rules_to_check() -> None:
    assert len(_pairs()) >= 8


@pytest.mark.parametrize(("selector", "fg", "bg"), _pairs())
def test_every_coloured_rule_meets_aa(selector: str, fg: str, bg: str) -> None:
    assert contrast(fg, bg) >= AA, (selector, fg, bg, round(contrast(fg, bg), 2))


@pytest.mark.parametrize("text", ["--ink", "--muted", "--link", "--conflict"])
@pytest.mark.parametrize("background", ["--bg", "--soft"])
def test_text_colours_meet_aa_on_the_page_s_backgrounds(text: str, background: str) -> None:
    colours = _variables()
    assert contrast(colours[text], colours[background]) >= AA


def test_a_low_contrast_pair_would_fail() -> None:
    assert contrast("#777777", "#ffffff") < AA  # the check itself can fail
