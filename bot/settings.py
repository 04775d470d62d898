"""Process configuration from the environment (names are part of the contract in DESIGN.md)."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.db import normalise_url

SLACK_API_DEFAULT = "https://slack.com/api/"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: str = Field(default="", description="Bot token (xoxb-…) from the app's OAuth page.")
    slack_signing_secret: str = Field(default="", description="Signing secret from the app's Basic Information.")
    slack_app_token: str = Field(default="", description="App-level token (xapp-…) for Socket Mode.")
    slack_api_url: str = Field(default=SLACK_API_DEFAULT, description="Slack Web API base URL.")
    database_url: str = Field(default="sqlite+aiosqlite:///shipmate.db", description="SQLAlchemy database URL.")
    shipmate_policy: Path = Field(default=Path("shipmate.toml"), description="Path of the policy file (TOML).")
    shipmate_webhook_secret: str = Field(default="", description="HMAC secret for POST /hooks/deployments.")
    port: int = Field(default=3000, ge=1, le=65535, description="HTTP port.")
    # Tuning knobs, rarely set by hand (tests make them fast).
    shipmate_slack_timeout: float = Field(default=10.0, gt=0, description="Seconds before a Slack call gives up.")
    shipmate_poll_interval: float = Field(default=1.0, gt=0, description="Seconds between outbox/job sweeps.")
    shipmate_claim_lease: float = Field(
        default=60.0, gt=0, description="Seconds a process owns a claimed outbox row before another may retry it."
    )
    shipmate_ack_budget: float = Field(
        default=1.5,
        gt=0,
        le=2.5,
        description='Seconds a command or click may work before the ack; past them Slack gets "Working on it…" '
        "and the answer follows on response_url (Slack gives up on an ack after 3 s).",
    )
    shipmate_max_in_flight: int = Field(
        default=48, ge=1, description='Requests a process works on at once; past that, "busy, try again".'
    )
    shipmate_public_url: str = Field(default="", description="Public base URL, for calendar feed links.")

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        return normalise_url(value)

    @field_validator("slack_api_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    def missing_for(self, mode: str) -> list[str]:
        """Names of the variables that `shipmate run` in `mode` cannot start without."""
        needed = {"SLACK_BOT_TOKEN": self.slack_bot_token}
        if mode == "http":
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        else:
            needed["SLACK_APP_TOKEN"] = self.slack_app_token
        return [name for name, value in needed.items() if not value]
