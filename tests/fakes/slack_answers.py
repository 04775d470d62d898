"""What the fake Web API answers to a call that succeeds, in Slack's shapes: who the token is (`auth.test`), posted
messages' ts, opened views, the workspace's user groups (`usergroups.list`, `usergroups.users.list`), people
(`users.info`) and channels (`conversations.info`, `conversations.open`)."""

from typing import Any

from tests.fakes.slack_files import BOT_USER_ID, TEAM_ID


class Answers:
    """Mixed into `FakeSlack`, whose fields these are."""

    usergroups: dict[str, list[str]]
    user_timezones: dict[str, str]
    missing_users: set[str]
    channels: dict[str, dict[str, Any]]
    _ts: Any

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": "B0BOT", "team": "Test"}
        if method in ("chat.postMessage", "chat.update"):
            ts = params.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": params.get("channel"), "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": "V0VIEW", **params.get("view", {})}}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(str(params.get("usergroup")), [])}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": [self._usergroup(group, params) for group in self.usergroups]}
        if method == "users.info":
            user = str(params.get("user"))
            if user in self.missing_users:
                return {"ok": False, "error": "user_not_found"}
            return {
                "ok": True,
                "user": {"id": user, "team_id": TEAM_ID, "deleted": False, "tz": self.user_timezones.get(user, "UTC")},
            }
        if method == "conversations.info":
            found = self.channels.get(str(params.get("channel")))
            return {"ok": True, "channel": found} if found else {"ok": False, "error": "channel_not_found"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "X"))[1:]}}
        return {"ok": True}

    def _usergroup(self, group_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """A user group object as `usergroups.list` returns it."""
        handle = group_id.lower()
        found: dict[str, Any] = {
            "id": group_id,
            "team_id": TEAM_ID,
            "is_usergroup": True,
            "name": handle,
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": 1446598059,
            "date_update": 1446670362,
            "date_delete": 0,
            "auto_type": None,
            "created_by": "U0ADMIN",
            "updated_by": "U0ADMIN",
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
        }
        if str(params.get("include_count", "")).lower() in ("1", "true"):
            found["user_count"] = str(len(self.usergroups[group_id]))
        if str(params.get("include_users", "")).lower() in ("1", "true"):
            found["users"] = list(self.usergroups[group_id])
        return found
