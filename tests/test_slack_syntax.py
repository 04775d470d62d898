"""Slack syntax is built only at the Slack edge (`bot/slack_text.py`, the templates): the rules and the use cases
speak in values (`Mention`, `When`, `Strong`, `Code`), so no mention, `<!date^…>` or `*bold*` is typed there."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VALUES_ONLY = sorted([*(ROOT / "bot" / "domain").rglob("*.py"), *(ROOT / "bot" / "services").rglob("*.py")])
# A string that builds Slack syntax: special mentions and dates, a mention or link around a placeholder or of a
# literal id, bold around a placeholder. A pattern that *reads* such syntax (the grammar's) builds nothing.
SLACK_SYNTAX = re.compile(
    r"<!(?:date\^|subteam\^|here|channel|everyone)"
    r"|<[@#](?:\{|[UWCGS][A-Z0-9]{2,})"
    r"|<\{[^{}]*\}\|"
    r"|\*(?=[^\s*])[^*\n\\]*\{\w*\}[^*\n\\]*(?<=[^\s*])\*"
)


def strings(source: str) -> Iterator[tuple[int, str]]:
    """Every string literal but docstrings, an f-string with `{}` where its values go."""
    tree = ast.parse(source)
    skip = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }  # docstrings may name the syntax they are about
    for node in ast.walk(tree):  # a command's examples are what people type: Slack's own form of a mention
        if isinstance(node, ast.keyword) and node.arg == "examples":
            skip.update(id(inner) for inner in ast.walk(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(value) for value in node.values)
            yield node.lineno, "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


@pytest.mark.parametrize("path", VALUES_ONLY, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_slack_syntax_is_built_outside_the_edge(path: Path) -> None:
    found = [f"line {line}: {text!r}" for line, text in strings(path.read_text()) if SLACK_SYNTAX.search(text)]
    assert not found, f"{path.name} builds Slack syntax; pass values (Mention, When, Strong, Code) instead: {found}"


@pytest.mark.parametrize(
    "built",
    [
        'f"<@{user}>"',
        'f"<!subteam^{group}>"',
        '"<#{channel}>"',
        'f"<!date^{stamp}^{{time}}|{fallback}>"',
        '"Recorded: *{ref}* is live"',
        'f"*Approvals for {env}* {n}"',
        'f"<{url}|{label}>"',
        '"<!here> look"',
    ],
)
def test_the_check_sees_each_way_of_building_it(built: str) -> None:
    assert any(SLACK_SYNTAX.search(text) for _, text in strings(f"x = {built}\n"))


@pytest.mark.parametrize(
    "harmless",
    [
        'r"^<@([UW][A-Z0-9]{2,20})(\\|[^>]*)?>$"',  # reading a mention Slack sent
        '"action add <service@version> <@owner> <due>"',  # a usage line, shown escaped
        '"{count} * {size} bytes"',
        'r"^\\s*(?:#|q)?(\\d{1,2})\\s*[.):]"',  # a regular expression's stars and counts
        '"`/release deploy {ref} {env} --override <reason>`"',
    ],
)
def test_the_check_lets_words_and_parsers_be(harmless: str) -> None:
    assert not any(SLACK_SYNTAX.search(text) for _, text in strings(f"x = {harmless}\n"))
