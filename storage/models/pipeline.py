"""Deployments that Shipmate asked a deployer to carry out, from the request to CI's (or GitHub's) report."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models._base import created_at_field, team_id_field, text_field, time_field


class DeploymentRequest(SQLModel, table=True):
    """One request to deploy (or roll back) a service in an environment; at most one is open per slot."""

    __tablename__ = "deployment_requests"
    __table_args__ = (
        Index("uq_deployment_requests_request", "request_id", unique=True),
        Index("ix_deployment_requests_slot", "team_id", "service", "environment", "status"),
        Index("ix_deployment_requests_release", "team_id", "release_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = team_id_field()
    request_id: str = Field(max_length=64)  # sent to the deployer; CI reports it back
    release_id: int = Field(foreign_key="releases.id")
    service: str = Field(max_length=63)
    version: str = Field(max_length=64)  # what the deployer deploys (for a rollback: the version restored)
    commit_sha: str | None = Field(default=None, max_length=40)  # the commit of that version, when known
    environment: str = Field(max_length=31)
    action: str = Field(max_length=10)  # deploy | rollback
    deployer: str = Field(max_length=20)  # webhook | github_workflow | github (a deployment GitHub started)
    requested_by: str = Field(max_length=64)
    override_reason: str | None = Field(default=None, max_length=500)
    reason: str = text_field()  # a rollback's reason
    status: str = Field(default="requested", max_length=12)  # requested | succeeded | failed | timed_out
    deadline_at: datetime = time_field(nullable=False)
    finished_at: datetime | None = time_field()
    deployment_id: int | None = Field(default=None, foreign_key="deployments.id")
    ci_url: str | None = Field(default=None, max_length=500)
    last_error: str = text_field()
    created_at: datetime = created_at_field()
