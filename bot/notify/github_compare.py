"""GitHub's compare and pull request documents, read into `bot.domain.release_notes` values. A compare is paginated
(`?per_page=100`, the `Link` header's `next`): more than 250 commits are read in full, up to `MAX_PAGES`."""

from typing import Any, Protocol
from urllib.parse import quote

from bot.domain.errors import CodeHostUnavailable
from bot.domain.release_notes import CommitInfo, Comparison, PullInfo, Standing

PER_PAGE = 100
MAX_PAGES = 100  # 10,000 commits: past that a release is not something a person reads commit by commit


class Pages(Protocol):
    api_url: str

    async def get_page(self, url: str) -> tuple[Any, str | None]: ...


async def compare(reader: Pages, repository: str, base: str, head: str) -> Comparison | None:
    """Every page of `base...head`; None when GitHub knows neither (404)."""
    path = f"/repos/{repository}/compare/{quote(base, safe='')}...{quote(head, safe='')}"
    url: str | None = f"{reader.api_url}{path}?per_page={PER_PAGE}"
    first: dict[str, Any] | None = None
    commits: list[CommitInfo] = []
    pages = 0
    while url is not None and pages < MAX_PAGES:
        document, url = await reader.get_page(url)
        pages += 1
        if document is None:
            return None
        if not isinstance(document, dict) or not isinstance(document.get("commits"), list):
            raise CodeHostUnavailable("GitHub answered a comparison without its commits")
        first = first or document
        commits += [commit for commit in map(_commit, document["commits"]) if commit is not None]
    assert first is not None
    status = first.get("status")
    return Comparison(
        status=Standing(status) if status in {s.value for s in Standing} else Standing.DIVERGED,
        ahead_by=_int(first.get("ahead_by")),
        behind_by=_int(first.get("behind_by")),
        total_commits=_int(first.get("total_commits"), len(commits)),
        commits=tuple(commits),
        html_url=str(first.get("html_url") or ""),
        pages=pages,
    )


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _login(user: Any) -> str | None:
    return str(user["login"]) if isinstance(user, dict) and isinstance(user.get("login"), str) else None


def _commit(item: Any) -> CommitInfo | None:
    """One of compare's `commits`: GitHub's login when the author has an account, else the git author's name."""
    if not isinstance(item, dict) or not isinstance(item.get("sha"), str):
        return None
    inner = _object(item.get("commit"))
    git_author = _object(inner.get("author"))
    author = _login(item.get("author")) or str(git_author.get("name") or "unknown")
    parents = item["parents"] if isinstance(item.get("parents"), list) else []
    return CommitInfo(
        sha=item["sha"].lower(),
        message=str(inner.get("message") or "")[:4000],
        author=author,
        url=str(item.get("html_url") or ""),
        parents=tuple(str(p["sha"]).lower() for p in parents if isinstance(p, dict) and isinstance(p.get("sha"), str)),
    )


def pull_of(document: Any) -> PullInfo | None:
    """A pull request object (`pulls/{n}` or an item of `commits/{sha}/pulls`)."""
    if not isinstance(document, dict) or not isinstance(document.get("number"), int):
        return None
    head = _object(document.get("head"))
    labels = document["labels"] if isinstance(document.get("labels"), list) else []
    return PullInfo(
        number=document["number"],
        title=str(document.get("title") or "")[:300],
        author=_login(document.get("user")) or "unknown",
        url=str(document.get("html_url") or ""),
        body=str(document.get("body") or "")[:4000],
        branch=str(head.get("ref") or "")[:255],
        labels=tuple(str(label["name"]) for label in labels if isinstance(label, dict) and "name" in label),
        merge_commit_sha=str(document["merge_commit_sha"]).lower()
        if isinstance(document.get("merge_commit_sha"), str)
        else None,
    )
