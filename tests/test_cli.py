"""The `shipmate` command line: manifest, policy check, run's start-up refusals, app.json."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot import signing
from bot.cli import main
from bot.domain.permissions import Permission
from bot.settings import Settings
from tests.process import AppProcess

ROOT = Path(__file__).resolve().parents[1]


def test_manifest_declares_command_interactivity_events_and_scopes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://ship.example.com"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    command = manifest["features"]["slash_commands"][0]
    assert command["command"] == "/release"
    assert command["url"] == "https://ship.example.com/slack/events"
    settings = manifest["settings"]
    assert settings["interactivity"]["request_url"] == "https://ship.example.com/slack/events"
    assert settings["event_subscriptions"]["request_url"] == "https://ship.example.com/slack/events"
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert {"commands", "chat:write", "usergroups:read"} <= set(scopes)
    assert settings["socket_mode_enabled"] is False
    assert manifest["oauth_config"]["redirect_urls"] == [
        "https://ship.example.com/slack/oauth_redirect",  # "Add to Slack" (many workspaces)
        "https://ship.example.com/board/callback",  # Sign in with Slack (the web board)
    ]
    assert {"app_uninstalled", "tokens_revoked"} <= set(settings["event_subscriptions"]["bot_events"])
    assert settings["org_deploy_enabled"] is True


def test_manifest_takes_the_public_url_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPMATE_PUBLIC_URL", "https://public.example.com/")
    assert main(["manifest"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["oauth_config"]["redirect_urls"][0] == "https://public.example.com/slack/oauth_redirect"
    assert manifest["settings"]["interactivity"]["request_url"] == "https://public.example.com/slack/events"


def test_socket_manifest_has_no_request_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--socket"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in manifest["settings"]["interactivity"]
    assert "url" not in manifest["features"]["slash_commands"][0]


def test_policy_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[[environments]]\nname = "staging"\n[[environments]]\nname = "prod"\napprovals = 1\n')
    assert main(["policy", "check", str(good)]) == 0
    assert "staging → prod" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[environments]]\nname = "prod"\napprovals = "two"\n')
    assert main(["policy", "check", str(bad)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"shipmate: {bad}:3: environments.0.approvals")
    assert "\n" not in error


def _run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SHIPMATE_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env={**clean, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_run_without_tokens_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    result = _run_cli("run", "--mode", "http", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "shipmate: cannot start in http mode: set SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (see README, 'Configure')."
    )


def test_run_with_a_bad_policy_names_it(tmp_path: Path) -> None:
    (tmp_path / "shipmate.toml").write_text('[slack]\ncoordination_channel = "releases"\n')
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    result = _run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "shipmate.toml:2: slack.coordination_channel" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    result = _run_cli("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.db").stat().st_size > 0


def test_app_json_names_only_real_settings() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    known = {name.upper() for name in Settings.model_fields}
    assert set(app["env"]) <= known
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= set(app["env"])
    assert any(addon["plan"].startswith("heroku-postgresql") for addon in app["addons"])
    assert "web" in app["formation"]
    procfile = (ROOT / "Procfile").read_text()
    assert "release: shipmate db upgrade" in procfile


def test_database_urls_people_paste_are_mapped_to_async_drivers() -> None:
    assert Settings(_env_file=None, database_url="postgres://u@h/d").database_url == "postgresql+asyncpg://u@h/d"
    assert Settings(_env_file=None, database_url="postgresql://u@h/d").database_url == "postgresql+asyncpg://u@h/d"
    assert Settings(_env_file=None, database_url="sqlite:///x.db").database_url == "sqlite+aiosqlite:///x.db"


def test_http_mode_without_a_signing_secret_does_not_start(tmp_path: Path) -> None:
    """No default secret exists: without SLACK_SIGNING_SECRET nothing would tell Slack's requests from forgeries."""
    result = _run_cli("run", env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": ""}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "shipmate: cannot start in http mode: set SLACK_SIGNING_SECRET (see README, 'Configure')."
    )


async def test_run_listens_on_the_configured_host(tmp_path: Path) -> None:
    policy = tmp_path / "shipmate.toml"
    policy.write_text('[[environments]]\nname = "prod"\n')
    process = AppProcess(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/shipmate.db",
        slack_url="http://127.0.0.1:9/api/",
        policy=policy,
        extra_env={"SHIPMATE_HOST": "127.0.0.1"},
    )
    try:
        await process.start()  # polls http://127.0.0.1:<port>/healthz
        process.kill(signal.SIGTERM)
        assert f"listening on 127.0.0.1 port {process.port} (http mode)" in process.output()
    finally:
        process.stop()


def test_webhook_sign_prints_headers_the_server_accepts(tmp_path: Path) -> None:
    body = b'{"team_id":"T0TEAM","service":"payments","version":"2.5.0","environment":"dev"}\n'
    (tmp_path / "body.json").write_bytes(body)
    before = time.time()
    result = _run_cli("webhook", "sign", "body.json", env={"SHIPMATE_WEBHOOK_SECRET": "s3cret"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    headers = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(headers) == {signing.TIMESTAMP_HEADER, signing.SIGNATURE_HEADER}
    signing.verify("s3cret", body, headers, now=time.time())  # what `POST /hooks/deployments` checks
    assert before - 1 <= int(headers[signing.TIMESTAMP_HEADER]) <= time.time()
    with pytest.raises(signing.SignatureError):
        signing.verify("another", body, headers, now=time.time())
    assert "s3cret" not in result.stdout


def test_webhook_sign_without_a_secret_or_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "body.json").write_text("{}")
    no_secret = _run_cli("webhook", "sign", "body.json", env={}, cwd=tmp_path)
    assert no_secret.returncode == 2
    assert no_secret.stderr.strip() == "shipmate: set SHIPMATE_WEBHOOK_SECRET to the secret the server uses."
    no_file = _run_cli("webhook", "sign", "missing.json", env={"SHIPMATE_WEBHOOK_SECRET": "s"}, cwd=tmp_path)
    assert no_file.returncode == 2
    assert no_file.stderr.strip() == "shipmate: missing.json: No such file or directory"


def _fenced(text: str, after: str, language: str) -> str:
    """The first ```language block after the line `after` in README."""
    start = text.index(f"```{language}\n", text.index(after)) + len(language) + 4
    return text[start : text.index("```", start)]


def test_readme_who_may_do_what_is_what_policy_explain_prints_for_its_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = tmp_path / "shipmate.toml"
    sample.write_text(_fenced(readme, "### Policy (`shipmate.toml`)", "toml"), encoding="utf-8")
    assert main(["policy", "explain", str(sample)]) == 0
    printed = capsys.readouterr().out
    assert printed == _fenced(readme, "## Who may do what", "text")
    assert "  roll back: deployers U0DAVE, S0ONCALL, or release managers\n" in printed  # ids, nothing resolved
    assert "  calendar link:            release managers\n" in printed  # the rules that are the same everywhere too


def test_readme_lists_exactly_the_declared_rules() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Who may do what") :]
    bullets = section[section.index("The rules, by the names") : section.index("\n\n", section.index("\n- "))]
    named = re.findall(r"\*\*([a-z ]+)\*\*", bullets)
    assert sorted(named) == sorted(permission.value for permission in Permission)


def test_policy_explain_without_a_file_explains_the_built_in_defaults(tmp_path: Path) -> None:
    result = _run_cli("policy", "explain", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "built-in defaults" in result.stderr
    assert result.stdout.startswith("release managers: none\n")
    assert "prod: 1 approval\n  approve:   anyone, but never the release's proposer" in result.stdout
    missing = _run_cli("policy", "explain", "absent.toml", env={}, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "shipmate: absent.toml: no such file"


def test_a_pipeline_timeout_that_could_outlive_its_claim_does_not_start(tmp_path: Path) -> None:
    """A claim is re-checked right before each send: a send that could outlast the lease could be sent twice."""
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SHIPMATE_CLAIM_LEASE": "8"}
    result = _run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "shipmate: settings: SHIPMATE_PIPELINE_TIMEOUT (5 s) must be at most half of SHIPMATE_CLAIM_LEASE (8 s), so "
        "a request to a deployer always ends before another process may take it over; lower the timeout or raise "
        "the lease"
    )
    assert Settings(_env_file=None, shipmate_claim_lease=8, shipmate_pipeline_timeout=4).shipmate_pipeline_timeout == 4
