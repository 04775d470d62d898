"""The policy file (TOML) as typed, validated objects. Errors name the key and the line."""

import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.domain import outgoing
from bot.domain.policy_alerts import AlertsSettings, EnvironmentHealth, check_alerts
from bot.domain.policy_changes import CabRules, EmergencyRules, RiskRules, StandardChange, unique_names
from bot.domain.policy_fields import (
    CHANNEL_ID as CHANNEL_ID,
)
from bot.domain.policy_fields import (
    ENTITY_ID as ENTITY_ID,
)
from bot.domain.policy_fields import (
    ChannelId,
    Duration,
    EntityId,
    Hours,
    TimeZoneName,
)
from bot.domain.policy_locks import Locks
from bot.domain.policy_notes import Integrations
from bot.domain.timeparse import parse_duration, zone

if TYPE_CHECKING:
    from bot.domain.working_hours import WorkingHours

ENV_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEBHOOK_URL = re.compile(r"^https?://[^\s<>|]{1,490}$")
GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
GITHUB_WORKFLOW = re.compile(
    r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}/\.github/workflows/[A-Za-z0-9_.-]{1,100}\.ya?ml$"
)
DEFAULT_DEPLOY_TIMEOUT = timedelta(hours=1)
# A planned window given only a start lasts this long.
DEFAULT_WINDOW = timedelta(hours=1)

Members = Mapping[str, frozenset[str]]  # user group id (S…) → its user ids, resolved through Slack


def is_user_group(entity_id: str) -> bool:
    """Policy entries name people (U…/W…) or Slack user groups (S…)."""
    return entity_id.startswith("S")


def includes(entities: Iterable[str], user_id: str, members: Members) -> bool:
    """Whether `user_id` is one of `entities`, directly or as a member of a user group among them."""
    return any(user_id == entity or user_id in members.get(entity, frozenset()) for entity in entities)


class PolicyError(Exception):
    """The policy file is wrong; `str()` is one line naming file, line and key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalGroup(_Strict):
    name: str = Field(min_length=1, max_length=40)
    members: list[EntityId] = Field(min_length=1)
    required: int = Field(default=1, ge=1, le=20)


class Environment(_Strict, EnvironmentHealth):  # min_soak, watch, auto_rollback, rollback_grace: policy_alerts.py
    name: Annotated[str, Field(pattern=ENV_NAME.pattern)]
    approvals: int = Field(default=0, ge=0, le=20)
    approvers: list[EntityId] = []
    approval_groups: list[ApprovalGroup] = []
    regression_required: bool = False
    verifiers: list[EntityId] = []
    deployers: list[EntityId] = []  # who may deploy to and roll back this environment (release managers always may)
    proposer_may_deploy: bool = False  # the proposer may deploy their own release here even though it needs approvals
    ci_may_bypass_gates: bool = False
    github_environment: str | None = Field(default=None, min_length=1, max_length=255)  # default: `name`
    max_commits: int | None = Field(default=None, ge=1)  # a release carrying more commits here is flagged

    @model_validator(mode="after")
    def _groups_fit(self) -> "Environment":
        if self.approval_groups and sum(g.required for g in self.approval_groups) > max(self.approvals, 0):
            object.__setattr__(self, "approvals", sum(g.required for g in self.approval_groups))
        return self

    @property
    def needs_approval(self) -> bool:
        return self.approvals > 0

    @property
    def github_name(self) -> str:
        """The GitHub environment that stands for this one (`github_environment`, else the same name)."""
        return self.github_environment or self.name


class SlackSettings(_Strict):
    coordination_channel: ChannelId | None = None
    stakeholder_channel: ChannelId | None = None


class Reminders(_Strict):
    pending_approval_every: Duration = "4h"
    before_window: Duration = "1h"
    working_hours: Hours = "00:00-24:00"
    working_days: list[Annotated[str, Field(pattern="^(mon|tue|wed|thu|fri|sat|sun)$")]] = list(WEEKDAYS[:5])
    timezone: TimeZoneName | None = None
    action_item_before: Duration = "1d"  # first nudge this long before an action item is due
    action_item_every: Duration = "1d"  # then, once due, this often until it is done


class Review(_Strict):
    after: Duration = "24h"
    prompts: list[Annotated[str, Field(min_length=1, max_length=200)]] = [
        "What went well?",
        "What did not go well?",
        "What should we change next time?",
    ]
    facilitator: EntityId | None = None


class RecurringFreeze(_Strict):
    environments: list[str] = Field(min_length=1)
    every: str | None = None  # "fri 16:00 - mon 08:00"
    start: str | None = None  # explicit dates: ISO 8601
    end: str | None = None
    reason: str = Field(min_length=1, max_length=200)
    timezone: TimeZoneName | None = None

    @model_validator(mode="after")
    def _shape(self) -> "RecurringFreeze":
        if bool(self.every) == bool(self.start and self.end):
            raise ValueError("give either 'every' (like 'fri 16:00 - mon 08:00') or both 'start' and 'end'")
        if self.every and not re.fullmatch(
            r"(mon|tue|wed|thu|fri|sat|sun) \d\d:\d\d\s*-\s*(mon|tue|wed|thu|fri|sat|sun) \d\d:\d\d",
            self.every,
        ):
            raise ValueError(f"every = {self.every!r} is not like 'fri 16:00 - mon 08:00'")
        if self.every and any(int(h) > 23 or int(m) > 59 for h, m in re.findall(r"(\d\d):(\d\d)", self.every)):
            raise ValueError(f"every = {self.every!r} has a time of day outside 00:00-23:59")
        if self.start and self.end:
            try:
                bounds = [datetime.fromisoformat(value) for value in (self.start, self.end)]
            except ValueError:
                raise ValueError("start and end must be ISO 8601 dates or date-times, like '2026-12-24'") from None
            if all(b.tzinfo is None for b in bounds) and bounds[1] < bounds[0]:
                raise ValueError(f"end {self.end!r} is before start {self.start!r}")
        return self


class Deployer(_Strict):
    """Who deploys a service when Shipmate starts it: a signed webhook to any CI, or a GitHub workflow."""

    allow_http: bool = False  # plain http to a non-loopback webhook; before `webhook`, whose check reads it
    webhook: Annotated[str, Field(pattern=WEBHOOK_URL.pattern)] | None = None
    github_workflow: Annotated[str, Field(pattern=GITHUB_WORKFLOW.pattern)] | None = None
    ref: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\s]+$")] = "main"

    @field_validator("webhook")
    @classmethod
    def _callable(cls, value: str | None, info: ValidationInfo) -> str | None:
        trouble = outgoing.problem(value, allow_http=bool(info.data.get("allow_http"))) if value else None
        if trouble:
            raise ValueError(trouble)
        return value

    @model_validator(mode="after")
    def _one(self) -> "Deployer":
        if bool(self.webhook) == bool(self.github_workflow):
            raise ValueError(
                'give either webhook = "https://…" or github_workflow = "owner/repo/.github/workflows/deploy.yml"'
            )
        if self.allow_http and not self.webhook:
            raise ValueError("allow_http is for webhook deployers only: GitHub is always called over https")
        return self

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook else "github_workflow"

    @property
    def workflow(self) -> tuple[str, str, str]:
        """(owner, repo, workflow file name) of `github_workflow`."""
        assert self.github_workflow is not None
        owner, repo, _github, _workflows, file = self.github_workflow.split("/")
        return owner, repo, file


def _weekly_time(value: str) -> str:
    match = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun) (\d\d):(\d\d)", value.strip().lower())
    if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise ValueError(f"{value!r} is not a weekday and a time of day like 'mon 09:00'")
    return f"{match.group(1)} {match.group(2)}:{match.group(3)}"


class Metrics(_Strict):
    digest: Annotated[str, AfterValidator(_weekly_time)] | None = None  # "mon 09:00": the weekly digest; off when unset
    timezone: TimeZoneName | None = None  # the digest's own; default: the policy's


class ServiceSettings(_Strict):
    channel: ChannelId | None = None
    deploy: Deployer | None = None
    deploy_timeout: Duration = "1h"  # a requested deployment that hears nothing this long is timed out
    github_repository: Annotated[str, Field(pattern=GITHUB_REPOSITORY.pattern)] | None = None
    # GitHub's id of that repository (`shipmate doctor` shows it): events must carry it too, so a repository
    # deleted and re-created under the same name (by someone else) is not taken for this one.
    github_repository_id: int | None = Field(default=None, ge=1)


class Policy(_Strict):
    release_managers: list[EntityId] = []
    timezone: TimeZoneName = "UTC"
    slack: SlackSettings = SlackSettings()
    environments: list[Environment] = Field(default_factory=lambda: list(DEFAULT_ENVIRONMENTS), min_length=1)
    reminders: Reminders = Reminders()
    review: Review = Review()
    freezes: list[RecurringFreeze] = []
    services: dict[str, ServiceSettings] = {}
    metrics: Metrics = Metrics()
    locks: Locks = Locks()
    integrations: Integrations = Integrations()
    alerts: AlertsSettings = AlertsSettings()
    standard_changes: list[StandardChange] = []  # change classes: bot/domain/policy_changes.py
    risk: RiskRules = RiskRules()
    emergency: EmergencyRules = EmergencyRules()
    cab: CabRules = CabRules()

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        names = [env.name for env in self.environments]
        if len(set(names)) != len(names):
            raise ValueError(f"environment names must be unique, got {names}")
        unique_names(self.standard_changes)
        if self.risk.cab and not self.cab.channel:
            raise ValueError("[risk] cab names risks for the CAB: set [cab] channel, members and meets")
        for freeze in self.freezes:
            unknown = set(freeze.environments) - set(names)
            if unknown:
                raise ValueError(f"freeze names unknown environments {sorted(unknown)}; known: {names}")
        check_alerts(self.alerts, names)
        return self

    # -- look-ups used everywhere, computed once per policy load (the policy is frozen) ----------------------
    @cached_property
    def environment_names(self) -> list[str]:
        return [env.name for env in self.environments]

    @cached_property
    def _environments_by_name(self) -> dict[str, Environment]:
        return {env.name: env for env in self.environments}

    def environment(self, name: str) -> Environment | None:
        return self._environments_by_name.get(name)

    def previous_environment(self, name: str) -> Environment | None:
        names = self.environment_names
        index = names.index(name)
        return self.environments[index - 1] if index > 0 else None

    def is_final(self, name: str) -> bool:
        return self.environment_names[-1] == name

    @cached_property
    def group_ids(self) -> frozenset[str]:
        """Every user group the policy names: resolved through Slack before a decision that involves people."""
        entities = [*self.release_managers, *self.locks.bypass, *self.emergency.approvers, *self.cab.members]
        for env in self.environments:
            entities += [
                *env.approvers,
                *env.verifiers,
                *env.deployers,
                *(m for g in env.approval_groups for m in g.members),
            ]
        return frozenset(entity for entity in entities if is_user_group(entity))

    def is_release_manager(self, user_id: str, members: Members) -> bool:
        return includes(self.release_managers, user_id, members)

    def stakeholder_channels(self, service: str) -> list[str]:
        channels = [self.slack.stakeholder_channel] if self.slack.stakeholder_channel else []
        extra = self.services.get(service)
        if extra and extra.channel and extra.channel not in channels:
            channels.append(extra.channel)
        return channels

    # -- the pipeline: deployers and GitHub ------------------------------------------------------
    def deployer(self, service: str) -> "Deployer | None":
        settings = self.services.get(service)
        return settings.deploy if settings else None

    def deploy_timeout(self, service: str) -> timedelta:
        settings = self.services.get(service)
        return parse_duration(settings.deploy_timeout) if settings else DEFAULT_DEPLOY_TIMEOUT

    def service_for_repository(self, full_name: str) -> str | None:
        """The service whose `github_repository` is `full_name` (GitHub treats names case-insensitively)."""
        wanted = full_name.lower()
        return next(
            (
                name
                for name, s in self.services.items()
                if s.github_repository and s.github_repository.lower() == wanted
            ),
            None,
        )

    def repository(self, service: str) -> str | None:
        """The GitHub repository (`owner/name`) of `service`, when the policy names one."""
        settings = self.services.get(service)
        return settings.github_repository if settings else None

    def repository_pin(self, service: str) -> int | None:
        """The `github_repository_id` events for `service` must carry, when the policy pins one."""
        settings = self.services.get(service)
        return settings.github_repository_id if settings else None

    def environment_for_github(self, name: str) -> Environment | None:
        """The pipeline environment that a GitHub environment name stands for."""
        wanted = name.lower()
        return next((env for env in self.environments if env.github_name.lower() == wanted), None)

    @cached_property
    def review_after(self) -> timedelta:
        return parse_duration(self.review.after)

    @cached_property
    def pending_approval_every(self) -> timedelta:
        return parse_duration(self.reminders.pending_approval_every)

    @cached_property
    def working_hours(self) -> "WorkingHours":
        """When a nudge may reach a person, under `[reminders]`."""
        from bot.domain.working_hours import WorkingHours  # imported here: working_hours reads this module's types

        reminders = self.reminders
        return WorkingHours.parse(
            reminders.working_hours, list(reminders.working_days), zone(reminders.timezone or self.timezone)
        )


DEFAULT_ENVIRONMENTS: tuple[Environment, ...] = (
    Environment(name="dev"),
    Environment(name="qa", regression_required=True),
    Environment(name="prod", approvals=1),
)


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best effort: the line where the innermost named key of `loc` is written."""
    keys = [part for part in loc if isinstance(part, str)]
    for key in reversed(keys):
        pattern = re.compile(rf"^[ \t]*(\[\[?\s*)?([\w.]*\.)?{re.escape(key)}\s*(=|\]|\.)", re.MULTILINE)
        match = pattern.search(text)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return None


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        line = _line_of(text, loc)
        where = f"{source}:{line}" if line else source
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and the table it is in)"
        raise PolicyError(f"{where}: {key}: {message}") from None


def load_policy(path: Path) -> Policy:
    """The policy at `path`, or the built-in defaults when the file does not exist."""
    if not path.exists():
        return Policy()
    return parse_policy(path.read_text(encoding="utf-8"), source=str(path))
