"""bot/domain stays pure: no Slack, database or web imports, so its rules are testable without I/O."""

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain"
FORBIDDEN = (
    "slack_sdk",
    "slack_bolt",
    "sqlmodel",
    "sqlalchemy",
    "aiohttp",
    "asyncpg",
    "aiosqlite",
    "apscheduler",
    "storage",
    "handlers",
    "bot.services",
    "bot.notify",
    "jinja2",
    "bot.slack_text",  # mrkdwn is the Slack edge's: the domain's messages hold values
    "bot.render",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(DOMAIN.rglob("*.py")), ids=lambda p: p.relative_to(DOMAIN).as_posix())
def test_domain_module_imports_nothing_impure(path: Path) -> None:
    bad = {name for name in _imports(path) for prefix in FORBIDDEN if name == prefix or name.startswith(prefix + ".")}
    assert not bad, f"{path.relative_to(DOMAIN)} imports {sorted(bad)}"
