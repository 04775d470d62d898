"""The GitHub reader's compare on its own against the fake GitHub: every page read through the `Link` header, the
token never sent to a page outside the API, GitHub's rate limit and a commit it does not know."""

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.domain.errors import CodeHostUnavailable
from bot.domain.release_notes import Standing
from bot.notify.github_api import GitHubReader
from tests.fakes.github_history import Pull
from tests.fakes.pipeline import FakePipeline, Refusal

REPO = "acme/ledger"


@pytest.fixture
async def reader(pipeline: FakePipeline) -> AsyncIterator[GitHubReader]:
    github = GitHubReader(pipeline.url, "ghs_test")
    await github.start()
    yield github
    await github.close()


async def test_a_compare_of_250_commits_and_more_is_read_page_by_page(
    reader: GitHubReader, pipeline: FakePipeline
) -> None:
    history = pipeline.history(REPO)
    base = history.commit("Initial import")
    for index in range(251):
        history.commit(f"step {index}", author=None if index == 7 else "octocat", name="Git Person")
    head = history.commits[-1]["sha"]

    comparison = await reader.compare(REPO, base, head)

    assert comparison is not None
    assert (comparison.status, comparison.total_commits, comparison.pages) == (Standing.AHEAD, 251, 3)
    assert [commit.message for commit in comparison.commits] == [f"step {index}" for index in range(251)]
    assert comparison.commits[7].author == "Git Person"  # no GitHub account: the git author's name
    assert comparison.commits[8].author == "octocat"
    assert comparison.html_url == f"{pipeline.url}/{REPO}/compare/{base}...{head}"
    assert reader.calls == 3


async def test_pull_requests_by_number_and_by_commit(reader: GitHubReader, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    history.commit("Initial import")
    sha = history.merge(Pull(9, "Ledger v2", "mona", body="PAY-1", branch="pay-1", labels=("enhancement",)))

    pull = await reader.pull(REPO, 9)
    [same] = await reader.commit_pulls(REPO, sha)

    assert pull == same
    assert pull is not None
    assert (pull.number, pull.title, pull.author, pull.branch, pull.labels) == (
        9,
        "Ledger v2",
        "mona",
        "pay-1",
        ("enhancement",),
    )
    assert await reader.pull(REPO, 10) is None
    assert await reader.commit_pulls(REPO, "0" * 40) == []


async def test_a_rate_limit_says_when_to_come_back(reader: GitHubReader, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    base, head = history.commit("a"), history.commit("b")
    reset = int(time.time()) + 120
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    pipeline.read_fail_next.append(Refusal(403, headers, "API rate limit exceeded"))

    with pytest.raises(CodeHostUnavailable) as refused:
        await reader.compare(REPO, base, head)

    assert refused.value.retry_after is not None
    assert 100 < refused.value.retry_after <= 120
    assert await reader.compare(REPO, base, "f" * 40) is None  # GitHub knows no such commit: 404


async def test_a_next_page_outside_the_api_is_not_followed(reader: GitHubReader, pipeline: FakePipeline) -> None:
    history = pipeline.history(REPO)
    base, head = history.commit("a"), history.commit("b")
    document = {"status": "ahead", "ahead_by": 1, "behind_by": 0, "total_commits": 2, "commits": [], "html_url": ""}
    elsewhere = '<https://evil.example.com/steal?page=2>; rel="next"'
    pipeline.read_answer_next.append(lambda: web.json_response(document, headers={"Link": elsewhere}))

    with pytest.raises(CodeHostUnavailable, match="outside its API"):
        await reader.compare(REPO, base, head)
