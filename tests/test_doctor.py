"""`shipmate doctor` against the fake Slack: a healthy installation passes; a missing scope, a missing channel,
an unknown user group or user, a bad token and an unmigrated database are each reported by name, on one line,
and make it fail. Secrets are named, never printed."""

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.doctor import Check, run
from bot.doctor.local_checks import _describe
from bot.domain.outgoing import redact
from bot.settings import Settings
from storage.migrate import head_revision, upgrade
from tests.conftest import POLICY, make_settings
from tests.fakes.pipeline import FakePipeline
from tests.fakes.slack_api import FakeSlack, Fault, channel
from tests.harness import SECRET

ROOT = Path(__file__).resolve().parents[1]


def doctor_settings(database_url: str, slack: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"shipmate_policy_toml": POLICY}
    values.update(overrides)
    return make_settings(database_url, slack, **values)


async def diagnose(settings: Settings) -> tuple[bool, list[str]]:
    lines: list[str] = []

    def emit(check: Check) -> None:
        lines.append(check.line)

    return await run(settings, emit), lines


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


@pytest.fixture(autouse=True)
def known_group(slack: FakeSlack) -> None:
    slack.usergroups["S0RELMGR"] = ["U0RM", "U0ERIN"]


async def test_a_healthy_installation_passes(database_url: str, slack: FakeSlack) -> None:
    ok, lines = await diagnose(doctor_settings(database_url, slack))
    assert ok, lines
    assert failures(lines) == []
    text = "\n".join(lines)
    assert "ok    policy: SHIPMATE_POLICY_TOML: dev → qa → prod" in text
    assert "SHIPMATE_POLICY_TOML > SHIPMATE_POLICY > ./shipmate.toml > built-in defaults" in text
    assert "ok    bot token: valid for workspace Test (T0TEAM) as bot user U0BOT" in text
    assert "ok    scopes: all 11 the manifest asks for are granted" in text
    assert "ok    coordination channel: #releases (C0RELEASE): the bot is a member and can post" in text
    assert "ok    stakeholder channel: #stakeholders (C0STAKE)" in text
    assert "ok    users: 4 users named in the policy, all found: U0RM, U0BOB, U0CAROL, U0DAVE" in text
    assert "ok    user groups: 1 group named in the policy, all found: S0RELMGR (@s0relmgr, 2 members)" in text
    assert "ok    database:" in text
    assert "migrated to the latest revision" in text
    assert "ok    calendar feed: no link issued" in text
    assert "ok    SLACK_SIGNING_SECRET: set" in text
    assert "ok    SHIPMATE_WEBHOOK_SECRET: set" in text
    assert "warn  SHIPMATE_METRICS_TOKEN: not set: GET /metrics answers anyone" in text
    assert "ok    deployers: none configured" in text
    assert SECRET not in text
    assert "webhook-secret" not in text
    assert "xoxb-test" not in text


@pytest.mark.parametrize(
    ("breakage", "reported"),
    [
        pytest.param(
            lambda slack: slack.scopes.remove("im:write"),
            "FAIL  scopes: missing im:write: add it in the app's OAuth & Permissions",
            id="missing-scope",
        ),
        pytest.param(
            lambda slack: slack.channels.pop("C0STAKE"),
            "FAIL  stakeholder channel: C0STAKE not found: check the id in the policy's [slack] table",
            id="missing-channel",
        ),
        pytest.param(
            lambda slack: slack.usergroups.pop("S0RELMGR"),
            "FAIL  user group: user group S0RELMGR (prod approvers): not found in this workspace",
            id="unknown-user-group",
        ),
        pytest.param(
            lambda slack: slack.missing_users.add("U0DAVE"),
            "FAIL  user: user U0DAVE (prod approvers): not found in this workspace",
            id="unknown-user",
        ),
    ],
)
async def test_each_problem_is_reported_by_name(
    database_url: str, slack: FakeSlack, breakage: Any, reported: str
) -> None:
    breakage(slack)
    ok, lines = await diagnose(doctor_settings(database_url, slack))
    assert not ok
    [failure] = failures(lines)
    assert failure.startswith(reported), lines


STAKE = "stakeholder channel: #stakeholders (C0STAKE)"


@pytest.mark.parametrize(
    ("stakeholders", "coordination", "expected"),
    [
        (
            channel("C0STAKE", "stakeholders", member=False),
            None,
            f"ok    {STAKE}: public; the bot posts without being a member",
        ),
        (
            channel("C0STAKE", "stakeholders", member=False, private=True),
            None,
            f"FAIL  {STAKE} is private and the bot is not in it",
        ),
        (channel("C0STAKE", "stakeholders", archived=True), None, f"FAIL  {STAKE} is archived"),
        (
            None,
            channel("C0RELEASE", "releases", member=False),
            "warn  coordination channel: #releases (C0RELEASE): the bot can post (chat:write.public) but is not a "
            "member, so it does not see review replies",
        ),
    ],
    ids=["public-not-member", "private-not-member", "archived", "coordination-not-member"],
)
async def test_what_the_bot_can_do_in_each_channel(
    database_url: str,
    slack: FakeSlack,
    stakeholders: dict[str, Any] | None,
    coordination: dict[str, Any] | None,
    expected: str,
) -> None:
    if stakeholders:
        slack.channels["C0STAKE"] = stakeholders
    if coordination:
        slack.channels["C0RELEASE"] = coordination
    ok, lines = await diagnose(doctor_settings(database_url, slack))
    assert any(line.startswith(expected) for line in lines), lines
    assert ok == (not expected.startswith("FAIL"))


async def test_without_the_scope_for_a_channel_it_says_which_is_needed(database_url: str, slack: FakeSlack) -> None:
    slack.scopes.remove("channels:read")
    ok, lines = await diagnose(doctor_settings(database_url, slack))
    assert not ok
    assert any(line.startswith("FAIL  scopes: missing channels:read") for line in lines), lines
    assert any("cannot look at C0RELEASE: the token lacks channels:read" in line for line in lines), lines


async def test_a_refused_token_stops_the_slack_checks(database_url: str, slack: FakeSlack) -> None:
    slack.fail("auth.test", Fault(status=200, error="invalid_auth"))
    ok, lines = await diagnose(doctor_settings(database_url, slack))
    assert not ok
    assert "FAIL  bot token: Slack refused it (invalid_auth)" in lines[1]
    assert lines[2].startswith("skip  slack:")
    assert not any("C0RELEASE" in line or "U0BOB" in line for line in lines)


async def test_a_database_behind_head_or_never_made_says_what_to_run(tmp_path: Path, slack: FakeSlack) -> None:
    behind = tmp_path / "behind.db"
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{behind}", "0001")
    ok, lines = await diagnose(doctor_settings(f"sqlite+aiosqlite:///{behind}", slack))
    assert not ok
    needs = f"at revision 0001, this version needs {head_revision()}"
    assert any("database:" in line and needs in line for line in lines), lines

    absent = tmp_path / "absent.db"
    ok, lines = await diagnose(doctor_settings(f"sqlite+aiosqlite:///{absent}", slack))
    assert not ok
    assert any("no database file yet" in line for line in lines)
    assert not absent.exists()  # looking did not create it


async def test_a_policy_that_cannot_be_read_fails_naming_the_file(database_url: str, slack: FakeSlack) -> None:
    settings = doctor_settings(database_url, slack, shipmate_policy_toml="", shipmate_policy=Path("/etc/nope.toml"))
    ok, lines = await diagnose(settings)
    assert not ok
    assert lines[0].startswith("FAIL  policy: SHIPMATE_POLICY=/etc/nope.toml: no such file")
    assert any(line.startswith("skip  channels and people") for line in lines)


def test_deployer_urls_are_shown_without_credentials_or_query() -> None:
    shown = _describe({"webhook": "https://ci:hunter2@deploy.example.com:8443/hooks/ship?token=abc", "ref": "main"})
    assert shown == "webhook https://deploy.example.com:8443/hooks/ship, ref main"


async def test_the_cli_prints_one_line_per_check_and_exits_1_on_a_problem(
    database_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SHIPMATE_", "DATABASE_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-doctor-secret",
        SLACK_SIGNING_SECRET="signing-doctor-secret",
        SLACK_API_URL=slack.url,
        DATABASE_URL=database_url,
        SHIPMATE_POLICY_TOML=POLICY,
        SHIPMATE_WEBHOOK_SECRET="webhook-doctor-secret",
    )

    async def doctor() -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "doctor", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await doctor()
    assert code == 0, out + err
    slack.scopes.remove("users:read")
    code, out, err = await doctor()
    assert code == 1
    lines = out.splitlines()
    assert all(line.split(" ", 1)[0] in ("ok", "warn", "FAIL", "skip") for line in lines), out
    assert [line for line in lines if line.startswith("FAIL")] == [
        "FAIL  scopes: missing users:read: add it in the app's OAuth & Permissions (or recreate the app from "
        "`shipmate manifest`) and reinstall",
        "FAIL  users: cannot look them up: the token lacks users:read; add it in the app's OAuth & Permissions "
        "(or recreate the app from `shipmate manifest`) and reinstall",
    ]
    for secret in ("xoxb-doctor-secret", "signing-doctor-secret", "webhook-doctor-secret"):
        assert secret not in out + err


async def test_github_repositories_are_found_and_their_ids_pinned(
    database_url: str, slack: FakeSlack, pipeline: FakePipeline
) -> None:
    pipeline.repository_ids.update({"acme/payments": 4242, "acme/checkout": 77, "acme/ledger": 5})
    policy = (
        POLICY
        + """
[services.payments]
github_repository = "acme/payments"

[services.checkout]
github_repository = "acme/checkout"
github_repository_id = 78

[services.ledger]
github_repository = "acme/ledger"
github_repository_id = 5

[services.gone]
github_repository = "acme/gone"
"""
    )
    settings = doctor_settings(database_url, slack, shipmate_policy_toml=policy, shipmate_github_api_url=pipeline.url)

    ok, lines = await diagnose(settings)

    text = "\n".join(lines)
    assert not ok
    assert (
        "warn  github repository of payments: acme/payments has id 4242: pin it with github_repository_id = 4242"
        in text
    )
    assert (
        "FAIL  github repository of checkout: acme/checkout has id 77, not the pinned github_repository_id 78" in text
    )
    assert "ok    github repository of ledger: acme/ledger (id 5, pinned)" in text
    assert "FAIL  github repository of gone: acme/gone not found" in text


ACCEPTED_DEPLOYER_URLS = [
    "https://ci:hunter2@deploy.example.com:65535/hooks/ship?token=s3cret#x",
    "https://Deploy.Example.com/hooks/%73hip?token=s3cret",
    "http://127.0.0.1:1/hooks/ship?token=s3cret",
    "http://[::1]:8443/hooks/ship?token=s3cret",
    "http://localhost/hooks/ship?token=s3cret",
    "https://[2001:db8::1]/hooks/ship?token=s3cret",
]


@pytest.mark.parametrize("url", ACCEPTED_DEPLOYER_URLS)
async def test_doctor_shows_any_deployer_url_policy_check_accepts_without_its_secrets(
    database_url: str, slack: FakeSlack, tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = POLICY + f'\n[services.payments.deploy]\nwebhook = "{url}"\n'
    (tmp_path / "shipmate.toml").write_text(text)
    assert main(["policy", "check", str(tmp_path / "shipmate.toml")]) == 0, capsys.readouterr().err

    ok, lines = await diagnose(doctor_settings(database_url, slack, shipmate_policy_toml=text))

    assert ok, lines
    [line] = [line for line in lines if "deployer of payments" in line]
    assert line == f"ok    deployer of payments: webhook {redact(url)}, ref main"
    assert "/hooks/" in line
    assert "s3cret" not in "\n".join(lines)
    assert "hunter2" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://deploy.example.com:99999/hooks/ship?token=s3cret", "port '99999' of"),
        ("https://deploy.example.com:8o8o/hooks/ship?token=s3cret", "port '8o8o' of"),
        ("http://deploy.example.com/hooks/ship?token=s3cret", "uses http"),
    ],
)
async def test_a_deployer_url_policy_check_refuses_is_reported_by_doctor_the_same_way(
    database_url: str, slack: FakeSlack, tmp_path: Path, url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = POLICY + f'\n[services.payments.deploy]\nwebhook = "{url}"\n'
    path = tmp_path / "shipmate.toml"
    path.write_text(text)
    assert main(["policy", "check", str(path)]) == 2
    refused = capsys.readouterr().err.strip()
    line = text.count("\n", 0, text.index("webhook =")) + 1
    assert refused.startswith(f"shipmate: {path}:{line}: services.payments.deploy.webhook: "), refused
    assert says in refused

    ok, lines = await diagnose(doctor_settings(database_url, slack, shipmate_policy_toml="", shipmate_policy=path))

    assert not ok
    assert lines[0].startswith(f"FAIL  policy: {path}:{line}: services.payments.deploy.webhook: "), lines[0]
    assert says in lines[0]
    assert "s3cret" not in refused + "\n".join(lines)
