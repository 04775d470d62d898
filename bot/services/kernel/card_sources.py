"""What a release's card is built from, as far as the card reads it: the ORM rows a change holds, or the plain rows
`/release show` reads (`storage.repositories.releases.ShownRelease`, `deployments.DeployedLine`,
`deploy_requests.OpenRequest`), so a read builds no ORM object."""

from datetime import datetime
from typing import Protocol, TypeVar

from bot.domain.change_classes import Classified
from bot.domain.lifecycle import Status


class Shown(Classified, Protocol):
    """A release as far as its card goes: the ORM `Release` of a change, or the plain row `/release show` reads."""

    @property
    def pk(self) -> int: ...

    @property
    def team_id(self) -> str: ...

    @property
    def service(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def changes(self) -> str: ...

    @property
    def rollback_plan(self) -> str: ...

    @property
    def window_start(self) -> datetime | None: ...

    @property
    def window_end(self) -> datetime | None: ...

    @property
    def status(self) -> Status: ...

    @property
    def proposer_id(self) -> str: ...

    @property
    def scope_authors(self) -> str: ...

    @property
    def commit_sha(self) -> str | None: ...

    @property
    def incident_url(self) -> str | None: ...

    @property
    def retro_approved_at(self) -> datetime | None: ...


class Deployed(Protocol):
    """A deployment as the card's pipeline line shows it."""

    @property
    def environment(self) -> str: ...

    @property
    def outcome(self) -> str: ...

    @property
    def rolled_back_at(self) -> datetime | None: ...


class Deploying(Protocol):
    """An open deployment request, as the card's "Deploying to …" line shows it."""

    @property
    def environment(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def requested_by(self) -> str: ...

    @property
    def deadline_at(self) -> datetime: ...


class Soaked(Deployed, Protocol):
    """A deployment as the card's soak line counts it (`health_facts.soak`)."""

    @property
    def id(self) -> int | None: ...

    @property
    def created_at(self) -> datetime: ...


D = TypeVar("D", bound=Deployed)
