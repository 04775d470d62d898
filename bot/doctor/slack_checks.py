"""The Slack side of `shipmate doctor`: the bot token, its scopes, the policy's channels, people and user groups.
Nothing is posted: `auth.test`, `conversations.info`, `users.info` and `usergroups.list` only read."""

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doctor.report import Report
from bot.domain.policy import ENTITY_ID, Policy, is_user_group
from bot.manifest import BOT_SCOPES
from bot.settings import Settings
from bot.slack_app import web_client

REINSTALL = "add it in the app's OAuth & Permissions (or recreate the app from `shipmate manifest`) and reinstall"
TRANSPORT = (aiohttp.ClientError, TimeoutError)


def slack_error(exc: SlackApiError) -> str:
    data = exc.response.data
    code = data.get("error") if isinstance(data, dict) else None
    return str(code) if code else f"HTTP {exc.response.status_code}"


def _needed(exc: SlackApiError, default: str) -> str:
    """The scope a `missing_scope` answer names in `needed`."""
    data = exc.response.data
    return str(data.get("needed") or default) if isinstance(data, dict) else default


def granted_scopes(headers: Mapping[str, Any]) -> set[str] | None:
    """Slack names the token's scopes in the `x-oauth-scopes` header of every Web API answer."""
    for key, value in headers.items():
        if key.lower() == "x-oauth-scopes":
            text = value[0] if isinstance(value, list) else value
            return {scope.strip() for scope in str(text).split(",") if scope.strip()}
    return None


async def check_slack(report: Report, settings: Settings, policy: Policy | None) -> str | None:
    """Every Slack check, in order; returns the workspace id when the token works."""
    if not settings.slack_bot_token:
        report.fail("bot token", "SLACK_BOT_TOKEN is not set (the Bot User OAuth Token, xoxb-…, of the installed app)")
        report.skip("slack", "scopes, channels, users and user groups need a bot token")
        return None
    client = web_client(settings)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        report.fail("bot token", f"Slack refused it ({slack_error(exc)}): copy the Bot User OAuth Token (xoxb-…)")
        report.skip("slack", "scopes, channels, users and user groups need a working bot token")
        return None
    except TRANSPORT as exc:
        report.fail("bot token", f"cannot reach Slack at {settings.slack_api_url} ({type(exc).__name__})")
        report.skip("slack", "scopes, channels, users and user groups need Slack")
        return None
    team_id = str(auth.get("team_id", ""))
    report.ok("bot token", f"valid for workspace {auth.get('team')} ({team_id}) as bot user {auth.get('user_id')}")

    granted = granted_scopes(auth.headers)
    if granted is None:
        report.warn("scopes", "Slack did not say which scopes the token has (no x-oauth-scopes header)")
        granted = set(BOT_SCOPES)
    else:
        missing = [scope for scope in BOT_SCOPES if scope not in granted]
        if missing:
            report.fail("scopes", f"missing {', '.join(missing)}: {REINSTALL}")
        else:
            report.ok("scopes", f"all {len(BOT_SCOPES)} the manifest asks for are granted")
    if policy is None:
        report.skip("channels and people", "the policy could not be read")
        return team_id
    await check_channels(report, client, policy, granted)
    await check_people(report, client, policy)
    return team_id


async def check_channels(report: Report, client: AsyncWebClient, policy: Policy, granted: set[str]) -> None:
    wanted: list[tuple[str, str | None, bool]] = [
        ("coordination channel", policy.slack.coordination_channel, True),
        ("stakeholder channel", policy.slack.stakeholder_channel, False),
    ]
    wanted += [(f"{name} channel", service.channel, False) for name, service in policy.services.items()]
    for label, channel_id, threads in wanted:
        if channel_id is None:
            if label.startswith(("coordination", "stakeholder")):
                unset = (
                    "release messages go to the channel where each release is proposed"
                    if threads
                    else "no channel hears about releases"
                )
                report.ok(label, f"not set: {unset}")
            continue
        await check_channel(report, client, label, channel_id, granted, threads=threads)


async def check_channel(
    report: Report, client: AsyncWebClient, label: str, channel_id: str, granted: set[str], *, threads: bool
) -> None:
    try:
        channel = (await client.conversations_info(channel=channel_id)).get("channel") or {}
    except SlackApiError as exc:
        code = slack_error(exc)
        if code == "channel_not_found":
            report.fail(
                label,
                f"{channel_id} not found: check the id in the policy's [slack] table; a private channel must "
                "invite the bot first (/invite @shipmate)",
            )
        elif code == "missing_scope":
            report.fail(
                label, f"cannot look at {channel_id}: the token lacks {_needed(exc, 'channels:read')}; {REINSTALL}"
            )
        else:
            report.fail(label, f"cannot look at {channel_id}: Slack said {code}")
        return
    except TRANSPORT as exc:
        report.fail(label, f"cannot look at {channel_id} ({type(exc).__name__})")
        return
    name = f"#{channel.get('name', '?')} ({channel_id})"
    if channel.get("is_archived"):
        report.fail(label, f"{name} is archived: unarchive it or name another channel in the policy")
    elif channel.get("is_member"):
        report.ok(label, f"{name}: the bot is a member and can post")
    elif channel.get("is_private"):
        report.fail(label, f"{name} is private and the bot is not in it: /invite @shipmate there")
    elif "chat:write.public" not in granted:
        report.fail(label, f"{name}: the bot is not a member and lacks chat:write.public: /invite @shipmate there")
    elif threads:
        report.warn(
            label,
            f"{name}: the bot can post (chat:write.public) but is not a member, so it does not see review replies "
            "in release threads: /invite @shipmate there",
        )
    else:
        report.ok(label, f"{name}: public; the bot posts without being a member (chat:write.public)")


def named_people(policy: Policy) -> dict[str, list[str]]:
    """Every user and user group id the policy names → where it is named (for messages that say where to fix)."""
    found: dict[str, list[str]] = defaultdict(list)

    def add(ids: list[str], where: str) -> None:
        for entity in ids:
            if where not in found[entity]:
                found[entity].append(where)

    add(list(policy.release_managers), "release_managers")
    for env in policy.environments:
        for group in env.approval_groups:
            add(list(group.members), f"{env.name} approval group {group.name}")
        for key, value in env.model_dump(exclude={"approval_groups"}).items():  # approvers, verifiers, deployers…
            if isinstance(value, list) and value and all(isinstance(v, str) and ENTITY_ID.match(v) for v in value):
                add(value, f"{env.name} {key}")
    if policy.review.facilitator:
        add([policy.review.facilitator], "review facilitator")
    return dict(found)


async def check_people(report: Report, client: AsyncWebClient, policy: Policy) -> None:
    people = named_people(policy)
    if not people:
        report.ok("people", "the policy names no users or user groups")
        return
    users = [entity for entity in people if not is_user_group(entity)]
    groups = [entity for entity in people if is_user_group(entity)]
    if users:
        await check_users(report, client, users, people)
    if groups:
        await check_groups(report, client, groups, people)


async def check_users(report: Report, client: AsyncWebClient, users: list[str], where: dict[str, list[str]]) -> None:
    problems = 0
    for user_id in users:
        named = f"user {user_id} ({', '.join(where[user_id])})"
        try:
            user = (await client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:
            code = slack_error(exc)
            problems += 1
            if code == "missing_scope":  # the same answer for everyone: say it once
                report.fail("users", f"cannot look them up: the token lacks {_needed(exc, 'users:read')}; {REINSTALL}")
                return
            if code in ("user_not_found", "users_not_found"):
                report.fail("user", f"{named}: not found in this workspace; fix the id in the policy")
            else:
                report.fail("user", f"{named}: cannot look it up (Slack said {code})")
            continue
        except TRANSPORT as exc:
            problems += 1
            report.fail("user", f"{named}: cannot look it up ({type(exc).__name__})")
            continue
        if user.get("deleted"):
            problems += 1
            report.fail("user", f"{named}: deactivated; name someone else in the policy")
    if not problems:
        report.ok("users", f"{_count(len(users), 'user')} named in the policy, all found: {', '.join(users)}")


async def check_groups(report: Report, client: AsyncWebClient, groups: list[str], where: dict[str, list[str]]) -> None:
    try:
        listed = (await client.usergroups_list(include_disabled=True, include_count=True)).get("usergroups") or []
    except SlackApiError as exc:
        code = slack_error(exc)
        needed = f"the token lacks {_needed(exc, 'usergroups:read')}; {REINSTALL}" if code == "missing_scope" else ""
        report.fail("user groups", f"cannot list them: {needed or f'Slack said {code}'}")
        return
    except TRANSPORT as exc:
        report.fail("user groups", f"cannot list them ({type(exc).__name__})")
        return
    known = {str(group.get("id")): group for group in listed}
    found = []
    for group_id in groups:
        named = f"user group {group_id} ({', '.join(where[group_id])})"
        group = known.get(group_id)
        if group is None:
            report.fail("user group", f"{named}: not found in this workspace; fix the id in the policy")
        elif group.get("date_delete"):
            report.fail("user group", f"{named}: disabled (@{group.get('handle')}); enable it or name another")
        else:
            count = group.get("user_count")
            found.append(
                f"{group_id} (@{group.get('handle')}" + (f", {_count(int(count), 'member')})" if count else ")")
            )
    if len(found) == len(groups):
        report.ok("user groups", f"{_count(len(groups), 'group')} named in the policy, all found: {', '.join(found)}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
