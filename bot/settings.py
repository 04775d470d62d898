"""Process configuration from the environment (names are part of the contract in DESIGN.md)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import normalise_url
from storage.token_cipher import fernet_key_problem

SLACK_API_DEFAULT = "https://slack.com/api/"
GITHUB_API_DEFAULT = "https://api.github.com"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str = Field(default="", description="Bot token (xoxb-…) from the app's OAuth page.")
    slack_signing_secret: str = Field(default="", description="Signing secret from the app's Basic Information.")
    slack_app_token: str = Field(default="", description="App-level token (xapp-…) for Socket Mode.")
    slack_api_url: str = Field(default=SLACK_API_DEFAULT, description="Slack Web API base URL.")
    # Many workspaces (OAuth install) instead of one bot token: all three, and no SLACK_BOT_TOKEN. With a bot token,
    # the client id and secret serve only Sign in with Slack (the web board).
    slack_client_id: str = Field(
        default="", description="Client ID of the Slack app: OAuth install (many workspaces), Sign in with Slack."
    )
    slack_client_secret: str = Field(
        default="",
        description="Client secret of the Slack app: OAuth install, Sign in with Slack (the board's cookies).",
    )
    shipmate_encryption_key: str = Field(
        default="", description="Fernet key encrypting installed tokens at rest (many workspaces)."
    )
    shipmate_policy_dir: Path | None = Field(
        default=None,
        description="Policies per workspace: <team_id>.toml, <enterprise_id>.toml, default.toml.",
    )
    shipmate_token_rotation_minutes: int = Field(
        default=120, ge=1, description="Rotating tokens are refreshed this many minutes before they expire."
    )
    database_url: str = Field(default="sqlite+aiosqlite:///shipmate.db", description="SQLAlchemy database URL.")
    shipmate_policy: Path = Field(
        default=Path("shipmate.toml"), description="Path of the policy file (TOML); set but missing stops the bot."
    )
    shipmate_policy_toml: str = Field(default="", description="The policy itself (TOML); wins over SHIPMATE_POLICY.")
    shipmate_webhook_secret: str = Field(default="", description="HMAC secret for POST /hooks/deployments.")
    shipmate_github_webhook_secret: str = Field(
        default="", description="Secret of the GitHub webhook (X-Hub-Signature-256)."
    )
    shipmate_github_token: str = Field(
        default="", description="GitHub token: workflow_dispatch and protection rule answers."
    )
    shipmate_github_api_url: str = Field(
        default=GITHUB_API_DEFAULT, description="GitHub REST API base URL (GHES: …/api/v3)."
    )
    shipmate_github_team_id: str = Field(default="", description="The Slack workspace (T…) GitHub's events are about.")
    shipmate_alerts_token: str = Field(
        default="", description="Bearer token Alertmanager and Grafana send to POST /hooks/alerts."
    )
    port: int = Field(default=3000, ge=1, le=65535, description="HTTP port.")
    # Every interface by default: container platforms route to the container's address, not to loopback.
    shipmate_host: str = Field(default="0.0.0.0", min_length=1, description="Address the HTTP server listens on.")
    # Tuning knobs, rarely set by hand (tests make them fast).
    shipmate_slack_timeout: float = Field(default=10.0, gt=0, description="Seconds before a Slack call gives up.")
    shipmate_poll_interval: float = Field(default=1.0, gt=0, description="Seconds between outbox/job sweeps.")
    shipmate_claim_lease: float = Field(
        default=60.0, gt=0, description="Seconds a process owns a claimed outbox row before another may retry it."
    )
    shipmate_pipeline_timeout: float = Field(
        default=5.0, gt=0, description="Seconds before a request to a deployer or GitHub gives up."
    )
    shipmate_ack_budget: float = Field(
        default=1.5,
        gt=0,
        le=2.5,
        description='Seconds a command or click may work before the ack; past them Slack gets "Working on it…" '
        "and the answer follows on response_url (Slack gives up on an ack after 3 s).",
    )
    shipmate_max_loop_lag: float = Field(
        default=0.25,
        gt=0,
        description="Seconds the event loop may run late on average before new requests are answered busy.",
    )
    shipmate_max_in_flight: int = Field(
        default=48, ge=1, description='Requests a process works on at once; past that, "busy, try again".'
    )
    shipmate_max_gate_waiters: int = Field(
        default=1000, ge=1, description="Gate checks that may wait at once in a process; past it, 429."
    )
    shipmate_max_gate_waiters_per_release: int = Field(
        default=20, ge=1, description="Gate checks that may wait at once for one release in a process; past it, 429."
    )
    shipmate_public_url: str = Field(
        default="", description="Public base URL: calendar feed links, and the web board's sign-in redirect."
    )
    shipmate_metrics_token: str = Field(default="", description="Bearer token GET /metrics requires (open when unset).")
    shipmate_log_format: Literal["text", "json"] = Field(default="text", description="Log lines as text or JSON.")
    shipmate_drain_seconds: float = Field(
        default=5.0, ge=0, description="After SIGTERM: seconds /readyz answers 503 before the server stops listening."
    )
    shipmate_shutdown_timeout: float = Field(
        default=10.0, gt=0, description="Seconds requests and work in flight get to finish when the process stops."
    )

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        return normalise_url(value)

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("shipmate_github_api_url")
    @classmethod
    def _no_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def many_workspaces(self) -> bool:
        """OAuth install serving every workspace that installs the app (no single bot token)."""
        return bool(self.slack_client_id or self.slack_client_secret) and not self.slack_bot_token

    @model_validator(mode="after")
    def _a_usable_encryption_key(self) -> "Settings":
        if self.shipmate_encryption_key:
            encryption_key_problem = fernet_key_problem(self.shipmate_encryption_key)
            if encryption_key_problem:
                raise ValueError(f"SHIPMATE_ENCRYPTION_KEY {encryption_key_problem}")
        return self

    @model_validator(mode="after")
    def _sends_end_within_their_claim(self) -> "Settings":
        # a claim is re-checked right before each send: the send must end long before the claim could run out
        if self.shipmate_pipeline_timeout > self.shipmate_claim_lease / 2:
            raise ValueError(
                f"SHIPMATE_PIPELINE_TIMEOUT ({self.shipmate_pipeline_timeout:g} s) must be at most half of "
                f"SHIPMATE_CLAIM_LEASE ({self.shipmate_claim_lease:g} s), so a request to a deployer always ends "
                "before another process may take it over; lower the timeout or raise the lease"
            )
        return self

    @field_validator("shipmate_public_url")
    @classmethod
    def _public_no_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def missing_for(self, mode: str) -> list[str]:
        """Names of the variables that `shipmate run` in `mode` cannot start without."""
        needed = {"SLACK_BOT_TOKEN": self.slack_bot_token}
        if self.many_workspaces:
            needed = {
                "SLACK_CLIENT_ID": self.slack_client_id,
                "SLACK_CLIENT_SECRET": self.slack_client_secret,
                "SHIPMATE_ENCRYPTION_KEY": self.shipmate_encryption_key,
            }
        if mode == "http":
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        else:
            needed["SLACK_APP_TOKEN"] = self.slack_app_token
        return [name for name, value in needed.items() if not value]
