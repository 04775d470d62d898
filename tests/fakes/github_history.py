"""A repository's history as GitHub's REST API shows it, for the fake GitHub (`tests/fakes/pipeline.py`): compare
(`GET /repos/{owner}/{repo}/compare/{base}...{head}`, paginated with `per_page`/`page` and a `Link` header, the
changed files on the first page only), a pull request (`GET …/pulls/{n}`) and a commit's pull requests
(`GET …/commits/{sha}/pulls`), in the shapes GitHub documents (the compare's `status` is ahead, behind, diverged or
identical; `merge_base_commit`, `total_commits`, `html_url`, `permalink_url`; pull requests with `number`, `title`,
`user.login`, `html_url`, `body`, `head.ref`, `labels`)."""

import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MAX_PER_PAGE = 100
UNPAGED = 250  # without pagination parameters GitHub returns at most this many commits


def sha_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class Pull:
    number: int
    title: str
    author: str
    body: str = ""
    branch: str = "feature"
    labels: tuple[str, ...] = ()
    commits: list[str] = field(default_factory=list)  # shas that belong to it


@dataclass
class History:
    """One branch, oldest commit first; `strays`: commits on no ancestor of it (a force-pushed branch)."""

    repository: str
    commits: list[dict[str, Any]] = field(default_factory=list)
    pulls: dict[int, Pull] = field(default_factory=dict)
    strays: set[str] = field(default_factory=set)
    tip: str | None = None  # the branch's head (a merged branch's commits are not on its first-parent line)

    def commit(
        self, message: str, author: str | None = "octocat", name: str = "Mona Lisa", *, sha: str | None = None
    ) -> str:
        """A commit on the branch."""
        sha = self._add(message, author, name, [self.tip] if self.tip else [], sha=sha)
        self.tip = sha
        return sha

    def _add(self, message: str, author: str | None, name: str, parents: list[str], *, sha: str | None = None) -> str:
        sha = sha or sha_of(f"{self.repository}:{len(self.commits)}:{message}")
        self.commits.append({"sha": sha, "message": message, "author": author, "name": name, "parents": parents})
        return sha

    def merge(self, pull: Pull, *, squash: bool = False) -> str:
        """A pull request lands: a squash commit "Title (#N)", or its branch's commit and a merge commit whose
        second parent is that branch."""
        self.pulls[pull.number] = pull
        if squash:
            sha = self.commit(f"{pull.title} (#{pull.number})\n\n{pull.body}", pull.author)
            pull.commits.append(sha)
            return sha
        work = self._add(f"work on {pull.branch}", pull.author, "Mona Lisa", [self.tip] if self.tip else [])
        pull.commits.append(work)
        merge = f"Merge pull request #{pull.number} from acme/{pull.branch}\n\n{pull.title}"
        sha = self._add(merge, "web-flow", "GitHub", [p for p in (self.tip, work) if p])
        self.tip = sha
        pull.commits.append(sha)
        return sha

    def index(self, sha: str) -> int | None:
        return next((i for i, commit in enumerate(self.commits) if commit["sha"] == sha), None)


def _user(login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": 1,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def commit_document(api: str, web_url: str, repository: str, commit: dict[str, Any]) -> dict[str, Any]:
    sha = commit["sha"]
    person = {"name": commit["name"], "email": "octocat@github.com", "date": "2026-06-01T12:00:00Z"}
    return {
        "url": f"{api}/repos/{repository}/commits/{sha}",
        "sha": sha,
        "node_id": "MDY6Q29tbWl0NmRjYjA5YjViNTc4NzVmMzM0ZjYxYWViZWQ2OTVlMmU0MTkzZGI1ZQ==",
        "html_url": f"{web_url}/{repository}/commit/{sha}",
        "comments_url": f"{api}/repos/{repository}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/repos/{repository}/git/commits/{sha}",
            "author": person,
            "committer": person,
            "message": commit["message"],
            "tree": {"url": f"{api}/repos/{repository}/tree/{sha}", "sha": sha},
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        },
        "author": _user(commit["author"]) if commit["author"] else None,
        "committer": _user("web-flow"),
        "parents": [
            {"url": f"{api}/repos/{repository}/commits/{p}", "sha": p, "html_url": f"{web_url}/{repository}/commit/{p}"}
            for p in commit["parents"]
        ],
    }


def pull_document(api: str, web_url: str, repository: str, pull: Pull) -> dict[str, Any]:
    return {
        "url": f"{api}/repos/{repository}/pulls/{pull.number}",
        "id": 1000 + pull.number,
        "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": f"{web_url}/{repository}/pull/{pull.number}",
        "number": pull.number,
        "state": "closed",
        "locked": False,
        "title": pull.title,
        "user": _user(pull.author),
        "body": pull.body,
        "labels": [{"id": 208045946, "name": name, "color": "f29513", "default": False} for name in pull.labels],
        "created_at": "2026-05-30T10:00:00Z",
        "merged_at": "2026-06-01T12:00:00Z",
        "merge_commit_sha": pull.commits[-1] if pull.commits else None,
        "head": {"label": f"acme:{pull.branch}", "ref": pull.branch, "sha": pull.commits[0] if pull.commits else ""},
        "base": {"label": "acme:main", "ref": "main", "sha": ""},
        "draft": False,
    }


def compare_answer(request: web.Request, history: History, base: str, head: str, web_url: str) -> web.Response:
    """GitHub's compare of `base...head` on `history`, one page of it."""
    api, repository = f"{request.scheme}://{request.host}", history.repository
    head_at, base_at = history.index(head), history.index(base)
    if head_at is None or (base_at is None and base not in history.strays):
        body = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest/commits/commits"}
        return web.json_response(body, status=404)
    if base_at is None:  # a stray base: diverged from a commit before the branch began
        status, ahead, behind, span = "diverged", head_at + 1, 1, history.commits[: head_at + 1]
    elif base_at < head_at:
        status, ahead, behind, span = "ahead", head_at - base_at, 0, history.commits[base_at + 1 : head_at + 1]
    elif base_at == head_at:
        status, ahead, behind, span = "identical", 0, 0, []
    else:
        status, ahead, behind, span = "behind", 0, base_at - head_at, []
    paged = "per_page" in request.query or "page" in request.query
    per_page = min(int(request.query.get("per_page", "30")), MAX_PER_PAGE) if paged else UNPAGED
    page = int(request.query.get("page", "1"))
    shown = span[(page - 1) * per_page : page * per_page]
    document = {
        "url": f"{api}/repos/{repository}/compare/{base}...{head}",
        "html_url": f"{web_url}/{repository}/compare/{base}...{head}",
        "permalink_url": f"{web_url}/{repository}/compare/acme:{base}...acme:{head}",
        "diff_url": f"{web_url}/{repository}/compare/{base}...{head}.diff",
        "patch_url": f"{web_url}/{repository}/compare/{base}...{head}.patch",
        "base_commit": commit_document(api, web_url, repository, history.commits[base_at or 0]),
        "merge_base_commit": commit_document(api, web_url, repository, history.commits[base_at or 0]),
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": len(span),
        "commits": [commit_document(api, web_url, repository, commit) for commit in shown],
        "files": [] if page > 1 else [{"sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": "file1.txt"}],
    }
    headers = {}
    last = max(1, -(-len(span) // per_page))
    if paged and page < last:
        link = f"{api}{request.path}?per_page={per_page}&page="
        headers["Link"] = f'<{link}{page + 1}>; rel="next", <{link}{last}>; rel="last"'
    return web.json_response(document, headers=headers)
