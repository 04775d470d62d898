"""README's code map matches the tree: every path it names exists, and every module of the app is on it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _code_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- code map"), readme.index("<!-- /code map -->")
    return readme[start:end]


def _named_paths() -> set[str]:
    return set(re.findall(r"`((?:bot|handlers|storage|templates|tests|bench)/[\w./]*)`", _code_map()))


def test_every_path_on_the_map_exists() -> None:
    missing = sorted(path for path in _named_paths() if not (ROOT / path).exists())
    assert not missing, f"README's code map names paths that do not exist: {missing}"


def test_every_module_is_on_the_map() -> None:
    named = _named_paths()
    folders = {path for path in named if path.endswith("/")}
    modules = [
        path.relative_to(ROOT).as_posix()
        for package in ("bot", "handlers", "storage")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py" or path.parent.name == "handlers"
    ]
    unlisted = sorted(
        module for module in modules if module not in named and not any(module.startswith(f) for f in folders)
    )
    assert not unlisted, f"add these to README's code map: {unlisted}"
