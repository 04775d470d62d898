"""What am I approving? The card says what a release changes, computed from GitHub's compare between what is live in
prod and the release's commit: counts, the first pull requests, tickets linked to the trackers, a warning over the
environment's `max_commits`, the compare link; in the background, through rate limits and outages, and again when
another version reaches prod first."""

import asyncio
import time

import pytest

from bot.settings import Settings
from storage.db import Database
from storage.repositories import release_notes as notes_repo
from storage.repositories import releases as releases_repo
from tests.conftest import make_settings
from tests.fakes.github_history import History, Pull
from tests.fakes.pipeline import FakePipeline, Refusal
from tests.fakes.slack_api import FakeSlack
from tests.handlers.deploy_steps import PROPOSER
from tests.handlers.pipeline_steps import card_shows
from tests.harness import Harness

REPO = "acme/checkout"


@pytest.fixture
def policy_text() -> str:
    return """
release_managers = ["U0RM"]
timezone = "UTC"

[slack]
coordination_channel = "C0RELEASE"

[integrations]
jira_url = "https://acme.atlassian.net"

[[environments]]
name = "staging"

[[environments]]
name = "prod"
approvals = 1
approvers = ["U0BOB"]
max_commits = 20

[services.checkout]
github_repository = "acme/checkout"
"""


@pytest.fixture
def settings(database_url: str, slack: FakeSlack, pipeline: FakePipeline) -> Settings:
    return make_settings(database_url, slack, shipmate_github_api_url=pipeline.url, shipmate_github_token="ghs_t")


async def live_in_prod(harness: Harness, version: str, sha: str) -> None:
    """checkout@`version` at `sha`, proposed, approved and deployed to staging then prod."""
    steps = [
        (f"propose checkout {version} --commit {sha} Base", PROPOSER, "Proposed"),
        (f"approve checkout@{version}", "U0BOB", "You approved"),
        (f"deploy checkout@{version} staging", "U0RM", "is live in"),
        (f"deploy checkout@{version} prod", "U0RM", "is live in"),
    ]
    for text, user, expected in steps:
        answer = await harness.command_answer(text, user=user)
        assert expected in answer, answer


def base_and_work(history: History) -> tuple[str, str]:
    """A base commit, then three pull requests (two merged, one squashed) and a direct commit."""
    base = history.commit("Initial import")
    history.merge(Pull(12, "feat: one-click checkout", "mona", body="Implements PAY-7.", branch="pay-8-one-click"))
    history.merge(Pull(13, "Fix rounding of totals", "hubot", labels=("bug",), body="Closes #40"), squash=True)
    history.merge(Pull(14, "chore: bump deps <!channel>", "dependabot"))
    head = history.commit("docs: mention acme/ledger#7 in the README")
    return base, head


async def stored_notes(database_url: str, version: str) -> dict[str, object] | None:
    db = Database(database_url)
    try:
        async with db.read() as session:
            release = await releases_repo.get(session=session, team_id="T0TEAM", service="checkout", version=version)
            assert release is not None
            row = await notes_repo.get(session=session, team_id="T0TEAM", release_id=release.pk)
            return None if row is None else {"base": row.base_sha, "commits": row.total_commits}
    finally:
        await db.dispose()


async def until_stored(database_url: str, version: str, expected: dict[str, object]) -> None:
    deadline = time.monotonic() + 10
    while (found := await stored_notes(database_url, version)) != expected:
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.1)


async def test_the_card_says_what_is_in_the_release_with_pull_requests_and_tickets_linked(
    harness: Harness, pipeline: FakePipeline
) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)

    answer = await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster checkout", user=PROPOSER)

    assert "Proposed" in answer  # answered at once; GitHub is asked afterwards
    await card_shows(harness.slack, "What's in it: 6 commits, 3 pull requests, 4 tickets")
    call = next(c for c in reversed(harness.slack.calls) if "What's in it" in c.text_everywhere)
    card = call.text_everywhere
    assert f"<{pipeline.url}/{REPO}/pull/12|#12 feat: one-click checkout> by mona" in card
    assert "#14 chore: bump deps &lt;!channel&gt;" in card  # a title never pings anyone
    assert f"<{pipeline.url}/{REPO}/compare/{base}...{head}|Compare>" in card
    assert "limit" not in card  # 6 commits: under prod's max_commits
    shown = await harness.command_answer("show checkout@1.1.0")
    assert "What's in it: 6 commits" in shown
    reads = [path for path in pipeline.reads if "/compare/" in path or "/pulls" in path]
    assert reads == [f"/repos/{REPO}/compare/{base}...{head}", *(f"/repos/{REPO}/pulls/{n}" for n in (12, 13, 14))]


async def test_tickets_link_to_the_trackers_the_policy_names(harness: Harness, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)

    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster checkout", user=PROPOSER)
    await card_shows(harness.slack, "4 tickets")
    notes = await harness.command_answer("notes checkout@1.1.0")

    assert "[PAY-7](https://acme.atlassian.net/browse/PAY-7)" in notes  # from a pull request's body
    assert "[PAY-8](https://acme.atlassian.net/browse/PAY-8)" in notes  # from a branch name
    assert f"[#40]({pipeline.url}/{REPO}/issues/40)" in notes
    assert f"[acme/ledger#7]({pipeline.url}/acme/ledger/issues/7)" in notes


async def test_a_github_outage_during_the_proposal_leaves_the_card_usable_and_the_notes_arrive_later(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)
    reset = str(int(time.time()) + 1)
    pipeline.read_fail_next += [
        Refusal(503, {"Retry-After": "1"}, "Service Unavailable"),  # down, back in a second
        Refusal(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, "API rate limit exceeded"),
    ]

    answer = await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster checkout", user=PROPOSER)
    approved = await harness.command_answer("approve checkout@1.1.0", user="U0BOB")

    assert "Proposed" in answer
    assert "You approved" in approved  # the card works while GitHub refuses
    await card_shows(harness.slack, "What's in it: 6 commits")
    compares = [path for path in pipeline.reads if "/compare/" in path]
    assert len(compares) == 3  # down, then rate-limited, then answered
    assert await stored_notes(database_url, "1.1.0") == {"base": base, "commits": 6}


async def test_three_hundred_commits_page_and_max_commits_warns(harness: Harness, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    base = history.commit("Initial import")
    for index in range(300):
        history.commit(f"step {index}")
    head = history.commits[-1]["sha"]
    await live_in_prod(harness, "1.0.0", base)

    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Big bang", user=PROPOSER)

    await card_shows(harness.slack, "What's in it: 300 commits, 0 pull requests, 0 tickets")
    await card_shows(harness.slack, "300 commits* is over prod's limit of 20")
    compares = [path for path in pipeline.reads if "/compare/" in path]
    assert len(compares) == 3  # 100 per page, following the Link header
    notes = await harness.command_answer("notes checkout@1.1.0")
    assert "step 299" in notes or "attached" in notes


async def test_no_changes_and_a_rollback_are_said_plainly(harness: Harness, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    old = history.commit("Initial import")
    live = history.commit("feat: new ledger")
    await live_in_prod(harness, "1.0.0", live)

    await harness.command_answer(f"propose checkout 1.0.1 --commit {live} Same code", user=PROPOSER)
    await harness.command_answer(f"propose checkout 0.9.9 --commit {old} Back to the old one", user=PROPOSER)

    await card_shows(harness.slack, "What's in it: no changes; this is the code already live (checkout@1.0.0)")
    await card_shows(harness.slack, "this commit is 1 commit behind what is live (checkout@1.0.0): a rollback")


async def test_a_force_pushed_base_is_not_an_ancestor(harness: Harness, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    stray = "f" * 40
    history.strays.add(stray)
    history.commit("Initial import")
    head = history.commit("fix: rebuilt history")
    await live_in_prod(harness, "1.0.0", stray)

    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Rebuilt", user=PROPOSER)

    await card_shows(harness.slack, "is not an ancestor of this commit (a force push, or another branch)")


async def test_notes_are_computed_again_when_another_version_reaches_prod_first(
    harness: Harness, pipeline: FakePipeline, database_url: str
) -> None:
    history = pipeline.history(REPO)
    base = history.commit("Initial import")
    middle = history.commit("feat: first")
    head = history.commit("feat: second")
    await live_in_prod(harness, "1.0.0", base)
    await harness.command_answer(f"propose checkout 1.2.0 --commit {head} Second", user=PROPOSER)
    await card_shows(harness.slack, "What's in it: 2 commits")

    await live_in_prod(harness, "1.1.0", middle)

    await until_stored(database_url, "1.2.0", {"base": middle, "commits": 1})
    await card_shows(harness.slack, "checkout@1.2.0", absent="2 commits")
    await until_stored(database_url, "1.1.0", {"base": base, "commits": 1})  # what it shipped, against its base
