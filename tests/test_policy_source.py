"""Where the policy comes from: SHIPMATE_POLICY_TOML > SHIPMATE_POLICY > ./shipmate.toml > built-in defaults, and a
set but missing or unreadable SHIPMATE_POLICY stops `shipmate run` with one line naming the file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.domain.policy import Policy, PolicyError
from bot.policy_source import DEFAULTS, resolve
from bot.settings import Settings

FILE_POLICY = '[[environments]]\nname = "staging"\n[[environments]]\nname = "live"\napprovals = 1\n'
ENV_POLICY = '[[environments]]\nname = "only"\n'


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SHIPMATE_POLICY", "SHIPMATE_POLICY_TOML"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_toml_variable_wins_and_says_what_it_overrides(workdir: Path) -> None:
    (workdir / "shipmate.toml").write_text(FILE_POLICY)
    source = resolve(settings(shipmate_policy_toml=ENV_POLICY, shipmate_policy=workdir / "shipmate.toml"))
    assert source.origin == "SHIPMATE_POLICY_TOML"
    assert source.policy.environment_names == ["only"]
    assert source.note == f"SHIPMATE_POLICY={workdir / 'shipmate.toml'} is ignored"


def test_a_named_file_then_the_working_directory_then_the_defaults(workdir: Path) -> None:
    named = workdir / "elsewhere.toml"
    named.write_text(ENV_POLICY)
    (workdir / "shipmate.toml").write_text(FILE_POLICY)
    assert resolve(settings(shipmate_policy=named)).policy.environment_names == ["only"]
    here = resolve(settings())
    assert here.origin == "shipmate.toml (in the working directory)"
    assert here.policy.environment_names == ["staging", "live"]
    (workdir / "shipmate.toml").unlink()
    assert resolve(settings()).origin == DEFAULTS
    assert resolve(settings()).policy == Policy()


def test_from_the_environment_as_a_platform_sets_it(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPMATE_POLICY_TOML", ENV_POLICY)
    assert resolve(Settings(_env_file=None)).policy.environment_names == ["only"]


def unreadable(workdir: Path, kind: str) -> Path:
    if kind == "missing":
        return workdir / "missing.toml"
    if kind == "directory":
        return workdir
    path = workdir / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("missing", "no such file (fix the path, or unset SHIPMATE_POLICY"),
        ("directory", "is a directory, not a policy file"),
        ("not-utf8", "not UTF-8 text"),
    ],
)
def test_a_set_but_unreadable_file_is_an_error_not_the_defaults(workdir: Path, kind: str, says: str) -> None:
    path = unreadable(workdir, kind)
    with pytest.raises(PolicyError) as raised:
        resolve(settings(shipmate_policy=path))
    assert str(raised.value).startswith(f"SHIPMATE_POLICY={path}: {says}")


def test_invalid_toml_in_the_variable_names_the_variable(workdir: Path) -> None:
    with pytest.raises(PolicyError, match=r"^SHIPMATE_POLICY_TOML:1: environments"):
        resolve(settings(shipmate_policy_toml="environments = 3"))


def _run(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SHIPMATE_", "DATABASE_"))}
    tokens = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "DATABASE_URL": f"sqlite:///{cwd}/x.db"}
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--mode", "http", "--port", "1"],
        env={**clean, **tokens, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_policy_file_stops_the_real_cli_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "shipmate.toml").write_text(FILE_POLICY)  # present, but not the file that was named
    result = _run({"SHIPMATE_POLICY": str(tmp_path / "typo.toml")}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"shipmate: policy: SHIPMATE_POLICY={tmp_path / 'typo.toml'}: no such file (fix the path, or unset "
        "SHIPMATE_POLICY for ./shipmate.toml or the built-in defaults)"
    )
    assert not (tmp_path / "x.db").exists()  # stopped before touching the database
