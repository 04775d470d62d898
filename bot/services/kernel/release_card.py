"""The release message and its companions: builds the card, enqueues it, thread lines and stakeholder news.

Everything here runs inside the caller's transaction, so the message is owed exactly when the change commits.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import approval_policy, change_classes, commits, release_notes
from bot.domain.approval_policy import ApprovalState, Decision, Members
from bot.domain.lifecycle import OPEN, Status
from bot.domain.message import Mention, Message, Strong, When, mentions
from bot.domain.policy import Policy
from bot.domain.release_notes import Notes
from bot.ids import ActionId
from bot.render import render, render_fresh, render_text
from bot.services.kernel import health_facts
from bot.services.kernel.card_sources import D, Deployed, Deploying, Shown
from storage.db import Reader
from storage.models import Release
from storage.repositories import approvals as approvals_repo
from storage.repositories import outbox, shown
from storage.repositories import release_notes as notes_repo
from storage.types import utcnow

EMOJI = {
    Status.PROPOSED: "📝",
    Status.APPROVED: "✅",
    Status.IN_PROGRESS: "🚚",
    Status.RELEASED: "🚀",
    Status.REJECTED: "⛔",
    Status.CANCELLED: "🚫",
    Status.ROLLED_BACK: "⏪",
    Status.REVIEWED: "📚",
}


@dataclass(frozen=True)
class Button:
    action_id: ActionId
    label: str
    value: str
    style: str | None = None


@dataclass(frozen=True)
class CardRelease:
    """What the card shows of the release itself: values, so that a card renders once per what it shows."""

    id: int
    service: str
    version: str
    summary: str
    risk: str
    proposer_id: str
    commit_sha: str | None
    changes: str
    rollback_plan: str

    @classmethod
    def of(cls, release: Shown) -> "CardRelease":
        return cls(
            release.pk,
            release.service,
            release.version,
            release.summary,
            release.risk,
            release.proposer_id,
            release.commit_sha,
            release.changes,
            release.rollback_plan,
        )


@dataclass(frozen=True)
class CardView:
    release: CardRelease
    status_label: str
    emoji: str
    window: Message
    approvals: list[Message]
    pipeline_text: str
    buttons: list[Button]
    deploying: list[Message] = field(default_factory=list)  # "Deploying to prod…" lines
    commit_url: str | None = None  # the commit's page, when the release has a commit and a repository
    notes: list[Message] = field(default_factory=list)  # "What's in it: …", computed from the code
    health: list[Message] = field(default_factory=list)  # the soak's countdown, alerts holding it
    change_class: Message | None = None  # a standard or emergency change says so (bot/domain/change_classes.py)


def commit_url(policy: Policy, api_url: str, release: Shown) -> str | None:
    """The release's commit on GitHub, when it has a commit and its service a repository."""
    repository = policy.repository(release.service)
    if not release.commit_sha or not repository:
        return None
    return commits.commit_url(api_url, repository, release.commit_sha)


def approval_line(state: ApprovalState) -> Message:
    head = Message(
        "{title} {have}/{required}: {who}" + (" · approved" if state.met else ""),
        title=Strong(f"Approvals for {state.environment}"),
        have=state.counted,
        required=state.required,
        who=mentions(state.approved_by) or "nobody yet",
    )
    groups = [
        Message(
            "• {name}: {have}/{required} ({who})",
            name=group.name,
            have=min(len(group.filled_by), group.required),
            required=group.required,
            who=mentions(group.filled_by) or "—",
        )
        for group in state.groups
    ]
    rejected = [Message("⛔ Rejected by {who}", who=mentions(state.rejected_by))] if state.rejected_by else []
    return Message.lines([head, *groups, *rejected])


def deployed_environments(deployments: Sequence[D]) -> dict[str, D]:
    """Environment → this release's newest successful deployment there (rolled back ones included)."""
    latest: dict[str, D] = {}
    for deployment in deployments:
        if deployment.outcome == "succeeded":
            latest[deployment.environment] = deployment
    return latest


def next_environment(policy: Policy, deployed: Mapping[str, Deployed]) -> str | None:
    return next((name for name in policy.environment_names if name not in deployed), None)


def pipeline_line(policy: Policy, deployed: Mapping[str, Deployed], deploying: Iterable[str] = ()) -> str:
    parts = []
    busy = set(deploying)
    for name in policy.environment_names:
        deployment = deployed.get(name)
        if name in busy:
            parts.append(f"⏳ {name}")
        elif deployment is None:
            parts.append(f"▫️ {name}")
        elif deployment.rolled_back_at is not None:
            parts.append(f"⏪ {name}")
        else:
            parts.append(f"✅ {name}")
    return " → ".join(parts)


def build_card(
    policy: Policy,
    release: Shown,
    decisions: Sequence[Decision],
    deployments: Sequence[Deployed],
    members: Members,
    requests: Sequence[Deploying] = (),
    *,
    commit_url: str | None = None,
    states: Sequence[ApprovalState] | None = None,
    notes: Notes | None = None,
) -> CardView:
    """The card's view of `release`; `states`: its approval states, when the change was decided with them."""
    status = release.status
    states = (
        states
        if states is not None
        else approval_policy.states(
            change_classes.view(policy, release),
            proposer_id=release.proposer_id,
            decisions=decisions,
            members=members,
            scope_authors=approval_policy.authors_of(release.scope_authors),
        )
    )
    deployed = deployed_environments(deployments)
    buttons: list[Button] = []
    if status in OPEN:
        value = str(release.pk)
        if any(not state.met for state in states):
            buttons += [
                Button(ActionId.APPROVE, "Approve", value, "primary"),
                Button(ActionId.REJECT, "Reject", value, "danger"),
            ]
        target = next_environment(policy, deployed)
        if target and target not in {request.environment for request in requests}:
            buttons.append(Button(ActionId.DEPLOY_NEXT, f"Deploy to {target}", f"{release.pk}:{target}"))
    elif change_classes.awaits_retro(release) and any(not state.met for state in states):  # its full approval
        buttons.append(Button(ActionId.APPROVE, "Approve", str(release.pk), "primary"))
    return CardView(
        release=CardRelease.of(release),
        status_label=status.label,
        emoji=EMOJI[status],
        window=window_line(release),
        approvals=[approval_line(state) for state in states],
        pipeline_text=pipeline_line(policy, deployed, (request.environment for request in requests)),
        buttons=buttons,
        deploying=[deploying_line(request) for request in requests],
        commit_url=commit_url,
        notes=notes_lines(policy, notes),
        change_class=change_classes.card_line(
            policy,
            release,
            incident_url=release.incident_url,
            retro_approved_at=release.retro_approved_at,
            now=utcnow(),
        ),
    )


def notes_lines(policy: Policy, notes: Notes | None) -> list[Message]:
    """What the release changes, against what is live in the last environment of the pipeline."""
    if notes is None:
        return []
    target = policy.environments[-1]
    return release_notes.card_lines(notes, max_commits=target.max_commits, environment=target.name)


def window_line(release: Shown) -> Message:
    if release.window_start is None:
        return Message("not planned")
    if release.window_end is None:
        return Message("{start}", start=When(release.window_start))
    return Message("{start} – {end}", start=When(release.window_start), end=When(release.window_end, time_only=True))


def deploying_line(request: Deploying) -> Message:
    verb = (
        Message(
            "Rolling back {environment} to {version}", environment=Strong(request.environment), version=request.version
        )
        if request.action == "rollback"
        else Message("Deploying to {environment}", environment=Strong(request.environment))
    )
    return Message(
        "⏳ {verb}… asked by {who}; waiting for CI to report (until {until})",
        verb=verb,
        who=Mention(request.requested_by),
        until=When(request.deadline_at, time_only=True),
    )


async def refresh(
    session: AsyncSession,
    policy: Policy,
    release: Release,
    members: Members,
    *,
    new: bool = False,
    decisions: Sequence[Decision] | None = None,
    states: Sequence[ApprovalState] | None = None,
    commit_url: str | None = None,
    now: datetime | None = None,
    saved: dict[str, Any] | None = None,
) -> None:
    """Owe Slack the card in its current state (older unsent cards are dropped). A `new` release has no decisions,
    deployments, deployment requests or older cards to look up; `decisions`: its active ones, `states`: the approval
    states decided from them, when known (neither is read or decided again); `saved`: the release's columns the
    change writes now (its version, its time, its status), with the card's reads."""
    if new:
        card = build_card(policy, release, (), (), members, commit_url=commit_url)
    else:
        team_id, release_id = release.team_id, release.pk
        if decisions is None and states is None:
            decisions = await approvals_repo.active(session=session, team_id=team_id, release_id=release_id)
        if session.new or session.dirty or session.deleted:  # what this change wrote, as an ORM query would flush
            await session.flush()  # it (the card's reads are core)
        deployments, requests = await shown.card_parts_after(session=session, release=release, saved=saved or {})
        notes = await brief_of(session, policy, release)
        card = build_card(
            policy,
            release,
            decisions or (),
            deployments,
            members,
            requests,
            commit_url=commit_url,
            states=states,
            notes=notes,
        )
        target = next_environment(policy, deployed_environments(deployments))
        if now is not None and release.status in OPEN:
            card = replace(
                card, health=await health_facts.card_lines(session, policy, release, target, now, deployments)
            )
    outbox.enqueue(
        session=session,
        team_id=release.team_id,
        kind="card",
        release_id=release.pk,
        payload=render_fresh("release_card", card=card),
    )


async def brief_of(session: Reader, policy: Policy, release: Shown) -> Notes | None:
    """The brief of the release's computed notes; no query for a release that cannot have any (no commit, or a
    service without a GitHub repository)."""
    if not release.commit_sha or not policy.repository(release.service):
        return None
    return await notes_repo.brief_of(session=session, team_id=release.team_id, release_id=release.pk)


def thread(session: AsyncSession, release: Release, template: str, **context: Any) -> None:
    """One line in the release's thread, rendered from `templates/<template>.txt.j2`."""
    text = render_text(template, release=release, **context)
    thread_blocks(session, release, render("message", text=text, context=None))


def thread_blocks(session: AsyncSession, release: Release, payload: dict[str, Any]) -> None:
    """A message in the release's thread (sent once its card is posted)."""
    outbox.enqueue(session=session, team_id=release.team_id, kind="thread", release_id=release.pk, payload=payload)


def stakeholders(
    session: AsyncSession,
    policy: Policy,
    release: Release,
    payload: dict[str, Any],
    *,
    subscribers: Iterable[str] = (),
) -> None:
    """Tell the stakeholder channel(s) and each subscriber, in words for non-engineers."""
    for channel in policy.stakeholder_channels(release.service):
        outbox.enqueue(session=session, team_id=release.team_id, kind="post", channel=channel, payload=payload)
    for user_id in subscribers:
        outbox.direct(session=session, team_id=release.team_id, user_id=user_id, payload=payload)
