"""Slack's OAuth v2 for the fake Web API: `oauth.v2.access` exchanges a code the test granted (as Slack does after
someone clicks Allow) for a bot token of that workspace, or of an enterprise for an org-wide install; with token
rotation on, the token expires and `grant_type=refresh_token` gives a new one. `auth.test` then answers for the
token it is called with. Answers are Slack's documented shapes."""

import itertools
from dataclasses import dataclass
from typing import Any

APP_ID = "A0APP"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "client-secret"


@dataclass
class Grant:
    team_id: str | None
    enterprise_id: str | None = None
    org_wide: bool = False
    rotating: bool = False
    installer: str = "U0INSTALLER"


class OAuthGrants:
    """Mixed into `FakeSlack`, whose fields these are."""

    grants: dict[str, Grant]  # code → what Slack would install
    tokens: dict[str, Grant]  # bot token → its installation (removed when revoked)
    refresh_tokens: dict[str, Grant]
    _token_ids: Any

    def grant(
        self,
        code: str,
        team_id: str | None,
        *,
        enterprise_id: str | None = None,
        org_wide: bool = False,
        rotating: bool = False,
    ) -> None:
        self.grants[code] = Grant(team_id, enterprise_id, org_wide, rotating)

    def revoke(self, team_id: str | None = None, *, enterprise_id: str | None = None) -> None:
        """What uninstalling does at Slack: the workspace's (or enterprise's) tokens stop working."""
        for token, grant in list(self.tokens.items()):
            if grant.team_id == team_id and grant.enterprise_id == enterprise_id:
                del self.tokens[token]

    def tokens_of(self, team_id: str | None, enterprise_id: str | None = None) -> list[str]:
        return [t for t, g in self.tokens.items() if g.team_id == team_id and g.enterprise_id == enterprise_id]

    def _issue(self, grant: Grant) -> dict[str, Any]:
        n = next(self._token_ids)
        token = f"xoxe.xoxb-{grant.enterprise_id or ''}{grant.team_id or ''}-{n}" if grant.rotating else None
        token = token or f"xoxb-{grant.enterprise_id or ''}{grant.team_id or ''}-{n}"
        self.tokens[token] = grant
        answer: dict[str, Any] = {"access_token": token}
        if grant.rotating:
            refresh = f"xoxe-1-refresh-{n}"
            self.refresh_tokens[refresh] = grant
            answer |= {"refresh_token": refresh, "expires_in": 43200}
        return answer

    def _oauth_answer(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("client_id") != CLIENT_ID or params.get("client_secret") != CLIENT_SECRET:
            return {"ok": False, "error": "invalid_client_id"}
        if params.get("grant_type") == "refresh_token":
            grant = self.refresh_tokens.pop(str(params.get("refresh_token")), None)
            if grant is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, "token_type": "bot", **self._issue(grant)}
        grant = self.grants.pop(str(params.get("code")), None)
        if grant is None:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": grant.installer},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "bot_user_id": "U0BOT",
            "team": {"id": grant.team_id, "name": f"Team {grant.team_id}"} if grant.team_id else None,
            "enterprise": {"id": grant.enterprise_id, "name": "Org"} if grant.enterprise_id else None,
            "is_enterprise_install": grant.org_wide,
            **self._issue(grant),
        }

    def _auth_test_answer(self, token: str) -> dict[str, Any] | None:
        """None: a token the fake did not issue through OAuth (the single-token tests' `xoxb-test`)."""
        if token.startswith(("xoxb-test", "xapp")) or (not self.tokens and not self.grants):
            return None
        grant = self.tokens.get(token)
        if grant is None:
            return {"ok": False, "error": "invalid_auth"}
        return {
            "ok": True,
            "team_id": grant.team_id,
            "enterprise_id": grant.enterprise_id,
            "is_enterprise_install": grant.org_wide,
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "url": "https://org.enterprise.slack.com/" if grant.org_wide else "https://team.slack.com/",
        }


def new_token_ids() -> Any:
    return itertools.count(1)
