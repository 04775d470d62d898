"""SHIPMATE_POLICY_DIR: every file read and validated; a reload that meets a bad file keeps the policies in force."""

import asyncio
import signal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from bot.domain.policy import PolicyError
from bot.policy_dir import Policies, load
from bot.settings import Settings
from tests.process import AppProcess

HELLO = '[services.hello]\ngithub_repository = "acme/hello"\n'


def settings_for(folder: Path) -> Settings:
    return Settings(_env_file=None, shipmate_policy_dir=folder)


def test_the_folder_is_read_with_its_default(tmp_path: Path) -> None:
    (tmp_path / "T0AAA.toml").write_text('release_managers = ["U0A"]\n' + HELLO)
    (tmp_path / "default.toml").write_text('release_managers = ["U0D"]\n')
    (tmp_path / "notes.txt").write_text("not a policy")
    found = load(settings_for(tmp_path))
    assert found.for_team("T0AAA").release_managers == ["U0A"]
    assert found.for_team("T0ZZZ").release_managers == ["U0D"]
    assert "SHIPMATE_POLICY_DIR" in found.origin


def test_a_bad_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "T0AAA.toml").write_text('[[environments]]\nname = "prod"\napprovals = "two"\n')
    with pytest.raises(PolicyError, match=r"T0AAA\.toml:3: environments\.0\.approvals"):
        load(settings_for(tmp_path))


def test_a_folder_that_is_not_there_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not a folder"):
        load(settings_for(tmp_path / "missing"))


def test_a_reload_with_a_conflict_keeps_the_policies_in_force(tmp_path: Path) -> None:
    (tmp_path / "T0AAA.toml").write_text('release_managers = ["U0A"]\n' + HELLO)
    settings = settings_for(tmp_path)
    policies = Policies(load(settings), settings)
    (tmp_path / "T0BBB.toml").write_text(HELLO)
    assert policies.reload() is False
    assert "T0BBB" not in policies.book.owners
    (tmp_path / "T0BBB.toml").write_text('release_managers = ["U0B"]\n')
    assert policies.reload() is True
    assert policies.for_team("T0BBB").release_managers == ["U0B"]


def test_an_organisations_file_serves_its_workspaces_once_known(tmp_path: Path) -> None:
    (tmp_path / "E0ORG.toml").write_text('release_managers = ["U0ORG"]\n')
    policies = Policies(load(settings_for(tmp_path)))
    assert policies.for_team("T0ONE", "E0ORG").release_managers == ["U0ORG"]
    assert policies.for_team("T0ONE").release_managers == ["U0ORG"]  # remembered from the request that said so
    assert policies.for_team("T0TWO").release_managers == []


def test_one_bot_token_with_the_apps_credentials_serves_one_workspace() -> None:
    # the client id and secret then only sign people in to the web board
    one = Settings(_env_file=None, slack_bot_token="xoxb-1", slack_client_id="1.2", slack_client_secret="s")
    assert not one.many_workspaces
    assert one.missing_for("http") == ["SLACK_SIGNING_SECRET"]


def test_the_encryption_key_must_be_a_fernet_key() -> None:
    with pytest.raises(ValidationError, match="SHIPMATE_ENCRYPTION_KEY decodes to 6 bytes, not 32"):
        Settings(_env_file=None, shipmate_encryption_key="c2VjcmV0")
    key = Fernet.generate_key().decode()
    many = Settings(_env_file=None, slack_client_id="1.2", slack_client_secret="s", shipmate_encryption_key=key)
    assert many.many_workspaces
    assert many.missing_for("http") == ["SLACK_SIGNING_SECRET"]
    unkeyed = Settings(_env_file=None, slack_client_id="1.2", slack_client_secret="s")
    assert unkeyed.missing_for("http") == ["SHIPMATE_ENCRYPTION_KEY", "SLACK_SIGNING_SECRET"]


async def test_sighup_reads_the_folder_again_in_a_running_process(tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "T0AAA.toml").write_text('[[environments]]\nname = "prod"\n')
    process = AppProcess(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/shipmate.db",
        slack_url="http://127.0.0.1:9/api/",
        policy=tmp_path / "unused.toml",
        extra_env={"SHIPMATE_POLICY_DIR": str(folder), "SHIPMATE_HOST": "127.0.0.1"},
    )
    try:
        await process.start()
        assert process.process is not None
        (folder / "T0BBB.toml").write_text('[[environments]]\nname = "prod"\napprovals = "two"\n')
        process.process.send_signal(signal.SIGHUP)
        await asyncio.sleep(1)
        (folder / "T0BBB.toml").write_text('[[environments]]\nname = "prod"\n')
        process.process.send_signal(signal.SIGHUP)
        await asyncio.sleep(1)
        process.kill(signal.SIGTERM)
        output = process.output()
    finally:
        process.stop()
    assert "policy reload refused" in output, output[-3000:]
    refused = output.index("policy reload refused, the policies in force stay")
    assert "T0BBB.toml:3: environments.0.approvals" in output[refused:]
    assert output.index("(2 workspace file(s))") > refused
