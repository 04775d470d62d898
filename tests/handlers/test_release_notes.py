"""What am I approving? The card says what a release changes, computed from GitHub's compare between what is live in
prod and the release's commit: counts, the first pull requests, tickets linked to the trackers, a warning over the
environment's `max_commits`, the compare link; in the background, through rate limits and outages, and again when
another version reaches prod first."""

import asyncio
import json
import re
import time

import pytest

from bot.ids import ActionId
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
stakeholder_channel = "C0STAKE"

[reminders]
pending_approval_every = "2s"
working_hours = "00:00-24:00"
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

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
    assert "- step 0 (" in notes  # every page made it into the notes
    assert "- step 299 (" in notes


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


async def test_release_notes_groups_features_fixes_and_other_and_the_proposer_posts_them(
    harness: Harness, pipeline: FakePipeline
) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)
    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster checkout", user=PROPOSER)
    await card_shows(harness.slack, "3 pull requests")

    shown = await harness.command("notes checkout@1.1.0", user=PROPOSER)
    reply = await harness.reply(shown)
    text = json.dumps(reply, ensure_ascii=False)
    markdown = "\n".join(block["text"]["text"] for block in reply["blocks"] if block["type"] == "section")

    assert "```" in markdown
    features = markdown.index("### Features")
    fixes = markdown.index("### Fixes")
    other = markdown.index("### Other")
    assert features < markdown.index("feat: one-click checkout (#12, @mona)") < fixes
    assert fixes < markdown.index("Fix rounding of totals (#13, @hubot)") < other  # by its label
    assert other < markdown.index("chore: bump deps &lt;!channel&gt; (#14, @dependabot)")
    assert "docs: mention acme/ledger#7 in the README" in markdown  # a direct commit, no pull request
    assert "Merge pull request" not in markdown
    assert "work on pay-8-one-click" not in markdown  # it came in with #12, on the merged branch
    assert "### Authors" in markdown
    assert "mona" in markdown
    assert str(ActionId.POST_NOTES) in text  # the proposer may post them

    posted = await harness.click_answer(ActionId.POST_NOTES, reply["blocks"][-1]["elements"][0]["value"], user=PROPOSER)

    assert "Posted the notes of *checkout@1.1.0*" in posted["text"]
    [post] = await harness.slack.wait_for(
        "chat.postMessage", lambda c: "Release notes of" in c.text_everywhere and not c.get("thread_ts")
    )
    assert post.get("channel") == "C0RELEASE"
    assert "Posted by <@" in post.text_everywhere
    assert str(ActionId.POST_NOTES) not in post.text_everywhere


async def test_someone_else_sees_the_notes_without_the_button_and_may_not_post_them(
    harness: Harness, pipeline: FakePipeline
) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)
    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster", user=PROPOSER)
    await card_shows(harness.slack, "3 pull requests")

    shown = await harness.command_answer("notes checkout@1.1.0", user="U0BOB")
    release_id = await release_id_of(harness, "1.1.0")
    refused = await harness.click_answer(ActionId.POST_NOTES, str(release_id), user="U0BOB")

    assert "Release notes of" in shown
    assert str(ActionId.POST_NOTES) not in shown
    assert "Only the proposer" in refused["text"]
    assert "release manager" in refused["text"]
    assert "post the notes of checkout@1.1.0" in refused["text"]


async def release_id_of(harness: Harness, version: str) -> int:
    shown = await harness.command_answer(f"show checkout@{version}")
    match = re.search(r'"value": "(\d+)"', shown)
    assert match, shown
    return int(match.group(1))


@pytest.mark.parametrize(
    ("propose", "said"),
    [
        ("propose payments 1.0.0 Ledger", "its service has no `github_repository` in the policy"),
        ("propose checkout 3.0.0 Ledger", "its commit is not known. Set it with `/release edit checkout@3.0.0"),
    ],
)
async def test_notes_that_are_not_there_say_why(harness: Harness, propose: str, said: str) -> None:
    assert "Proposed" in await harness.command_answer(propose, user=PROPOSER)
    ref = propose.split()[1] + "@" + propose.split()[2]

    answer = await harness.command_answer(f"notes {ref}")

    assert said in answer, answer
    unknown = await harness.command_answer("notes nothing@1.0.0")
    assert "nothing@1.0.0" in unknown


async def test_the_approval_reminder_and_the_stakeholder_post_carry_the_summary(
    harness: Harness, pipeline: FakePipeline
) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)

    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster checkout", user=PROPOSER)

    await harness.slack.wait_for(
        "chat.postMessage",
        lambda c: (
            c.get("channel") == "U0BOB"
            and "checkout@1.1.0* for *prod* (0/1)" in c.text_everywhere
            and "6 commits, 3 pull requests, 4 tickets" in c.text_everywhere
        ),
    )
    assert "You approved" in await harness.command_answer("approve checkout@1.1.0", user="U0BOB")
    [news] = await harness.slack.wait_for(
        "chat.postMessage", lambda c: c.get("channel") == "C0STAKE" and "checkout@1.1.0" in c.text_everywhere
    )
    assert "What's in it: 6 commits, 3 pull requests, 4 tickets" in news.text_everywhere


async def test_a_commit_resolved_from_its_tag_later_brings_the_notes(harness: Harness, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    base, head = base_and_work(history)
    await live_in_prod(harness, "1.0.0", base)
    pipeline.tags[REPO] = {"v1.1.0": head}

    answer = await harness.command_answer("propose checkout 1.1.0 Faster checkout", user=PROPOSER)

    assert "Proposed" in answer
    await card_shows(harness.slack, "What's in it: 6 commits, 3 pull requests, 4 tickets")
    assert pipeline.reads.index(f"/repos/{REPO}/git/ref/tags/v1.1.0") < pipeline.reads.index(
        f"/repos/{REPO}/compare/{base}...{head}"
    )


async def test_a_commit_message_naming_a_reviewed_pull_request_does_not_make_it_the_releases(
    harness: Harness, pipeline: FakePipeline
) -> None:
    history = pipeline.history(REPO)
    history.commit("Initial import")
    history.merge(Pull(12, "feat: one-click checkout", "mona", branch="reviewed"))  # reviewed, merged, already live
    base = history.tip
    assert base is not None
    await live_in_prod(harness, "1.0.0", base)
    # pushed straight to the branch by someone with write access, dressed as the reviewed pull request
    head = history.commit("Merge pull request #12 from acme/reviewed\n\nfeat: one-click checkout", "mallory")

    await harness.command_answer(f"propose checkout 1.1.0 --commit {head} Faster checkout", user=PROPOSER)

    await card_shows(harness.slack, "What's in it: 1 commit, 0 pull requests")
    call = next(c for c in reversed(harness.slack.calls) if "What's in it" in c.text_everywhere)
    assert "one-click checkout" not in call.text_everywhere  # #12 merged other code: it is not what this carries
