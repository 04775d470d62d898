"""The policy's `[integrations]`: where ticket keys found in a release's changes lead."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

TRACKER_URL = r"^https://[^\s<>|/]{1,200}(/[^\s<>|]{0,200})?$"


class Integrations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jira_url: Annotated[str, Field(pattern=TRACKER_URL)] | None = None  # "https://acme.atlassian.net"
    linear_workspace: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None  # "acme"
