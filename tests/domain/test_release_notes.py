"""Release notes as values: which pull requests a message names, kinds, the summary, the card's lines, Markdown,
tickets, the policy keys and their explanation."""

import pytest

from bot.domain.message import plain
from bot.domain.policy import PolicyError, parse_policy
from bot.domain.policy_explain import explain
from bot.domain.release_notes import (
    CommitInfo,
    Notes,
    PullInfo,
    Standing,
    card_lines,
    chunks,
    grouped,
    kind_of,
    markdown,
    pull_from_message,
    pull_named_by,
    pulls_to_look_up,
    room,
    summary,
)
from bot.domain.tickets import Trackers, keys_in, tickets_in

SHA = "a" * 40


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("Merge pull request #12 from acme/feature\n\nOne-click", 12),
        ("One-click checkout (#45)", 45),
        ("One-click checkout (#45)\n\n* squashed (#3)", 45),
        ("Fix #12 in the parser", None),
        ("Merge branch 'main' into feature", None),
    ],
)
def test_the_pull_request_a_message_names(message: str, number: int | None) -> None:
    assert pull_named_by(message) == number


def test_commits_are_asked_about_only_when_no_message_names_a_pull_request() -> None:
    named = [CommitInfo("1" * 40, "work", "a"), CommitInfo("2" * 40, "Title (#7)", "a")]
    rebased = [CommitInfo("1" * 40, "work", "a"), CommitInfo("2" * 40, "more", "a")]

    assert pulls_to_look_up(named) == ([7], [])
    assert pulls_to_look_up(rebased) == ([], ["1" * 40, "2" * 40])


@pytest.mark.parametrize(
    ("title", "labels", "kind"),
    [
        ("feat(api): new endpoint", (), "feature"),
        ("fix!: crash", (), "fix"),
        ("Rounding", ("bug",), "fix"),
        ("Shiny", ("enhancement",), "feature"),
        ("chore: deps", (), "other"),
        ("Refactor", (), "other"),
    ],
)
def test_kinds_by_label_then_prefix(title: str, labels: tuple[str, ...], kind: str) -> None:
    assert kind_of(title, labels) == kind


def notes(standing: Standing = Standing.AHEAD, total: int = 3, pulls: int = 7) -> Notes:
    return Notes(
        base_sha=SHA,
        head_sha="b" * 40,
        standing=standing,
        total_commits=total,
        compare_url="https://github.com/acme/pay/compare/a...b",
        commits=(CommitInfo("c" * 40, "feat: x", "mona"),),
        pulls=tuple(PullInfo(n, f"PR {n}", "hubot", f"https://github.com/acme/pay/pull/{n}") for n in range(pulls)),
        behind_by=2,
        base_ref="pay@1.0.0",
    )


def test_the_card_lists_five_pull_requests_warns_and_links_the_comparison() -> None:
    lines = [plain(line) for line in card_lines(notes(total=30), max_commits=20, environment="prod")]

    assert lines[0] == "What's in it: 30 commits, 7 pull requests, 0 tickets"
    assert lines[1] == "• #0 PR 0 (https://github.com/acme/pay/pull/0) by hubot"
    assert len([line for line in lines if line.startswith("•")]) == 5
    assert "…and 2 more" in lines[6]
    assert lines[7] == "⚠️ 30 commits is over prod's limit of 20: consider shipping it in smaller steps."
    assert lines[8].startswith("Compare (https://github.com/acme/pay/compare/a...b)")
    assert not any("limit" in plain(line) for line in card_lines(notes(total=20), max_commits=20, environment="prod"))


@pytest.mark.parametrize(
    ("standing", "said"),
    [
        (Standing.IDENTICAL, "no changes; this is the code already live (pay@1.0.0)"),
        (Standing.BEHIND, "nothing new; this commit is 2 commits behind what is live (pay@1.0.0): a rollback"),
        (Standing.DIVERGED, "is not an ancestor of this commit (a force push, or another branch)"),
        (Standing.FIRST, "nothing with a known commit is live there yet"),
    ],
)
def test_nothing_to_list_is_said_plainly(standing: Standing, said: str) -> None:
    assert said in plain(summary(notes(standing)))


def test_stored_notes_read_back_the_same() -> None:
    original = notes()
    assert Notes.from_json(original.to_json()) == original


def test_markdown_puts_typed_changes_first_and_groups_the_rest() -> None:
    text = markdown("pay@1.1.0", notes(pulls=1), "- typed by the proposer")

    assert text.index("### Changes (as proposed)") < text.index("What's in it") < text.index("### Features")
    assert "- feat: x (ccccccc, mona)" in text
    assert "- PR 0 (#0, @hubot)" in text


def test_long_notes_are_cut_between_lines() -> None:
    text = "\n".join(f"line {n:04}" for n in range(2000))

    pieces, left_out = chunks(text, limit=1000, most=3)

    assert len(pieces) == 3
    assert all(len(piece) <= 1000 for piece in pieces)
    assert pieces[1].startswith("line ")
    assert left_out == 2000 - sum(len(piece.splitlines()) for piece in pieces)


def test_ticket_keys_need_a_tracker_and_skip_lookalikes() -> None:
    none = Trackers()
    jira = Trackers.of("https://acme.atlassian.net/", None, "https://api.github.com")
    linear = Trackers.of(None, "acme", "https://ghe.example.com/api/v3")

    assert keys_in("PAY-12 uses UTF-8, SHA-256 and ISO-8601; re-2 is prose") == ["PAY-12"]
    assert keys_in("feature/pay-12-retries", branch=True) == ["PAY-12"]
    assert [t.key for t in tickets_in(["PAY-12 and #4"], repository="acme/pay", trackers=none)] == ["#4"]
    [key] = tickets_in(["PAY-12"], repository="acme/pay", trackers=jira)
    assert key.url == "https://acme.atlassian.net/browse/PAY-12"
    found = tickets_in(["PAY-12, #4 and acme/ledger#9 (#5)"], repository="acme/pay", trackers=linear, pulls=[5])
    assert [(t.key, t.url) for t in found] == [
        ("PAY-12", "https://linear.app/acme/issue/PAY-12"),
        ("#4", "https://ghe.example.com/acme/pay/issues/4"),
        ("acme/ledger#9", "https://ghe.example.com/acme/ledger/issues/9"),
    ]


def test_the_policy_keys_are_checked_and_explained() -> None:
    policy = parse_policy(
        '[integrations]\njira_url = "https://acme.atlassian.net"\n\n[[environments]]\nname = "prod"\nmax_commits = 50\n'
    )
    explained = explain(policy)

    assert "release notes warn over 50 commits" in explained
    assert "tickets in release notes link to Jira https://acme.atlassian.net" in explained
    assert "post release notes:" in explained
    with pytest.raises(PolicyError, match="max_commits"):
        parse_policy('[[environments]]\nname = "prod"\nmax_commits = 0\n')
    with pytest.raises(PolicyError, match="jira_url"):
        parse_policy('[integrations]\njira_url = "javascript:alert(1)"\n')


def test_the_brief_keeps_the_counts_and_the_first_pull_requests() -> None:
    full = Notes.from_json({**notes(total=30).to_json(), "tickets": [{"key": "#1", "url": "u", "tracker": "github"}]})
    brief = Notes.from_json(full.brief().to_json())

    assert (brief.commits, len(brief.pulls), brief.tickets) == ((), 5, ())
    assert plain(summary(brief)) == plain(summary(full)) == "What's in it: 30 commits, 7 pull requests, 1 ticket"
    assert [plain(line) for line in card_lines(brief, max_commits=None, environment="prod")] == [
        plain(line) for line in card_lines(full, max_commits=None, environment="prod")
    ]


@pytest.mark.parametrize(
    ("message", "title", "branch"),
    [
        (
            "Merge pull request #12 from acme/pay-8-one-click\n\nOne-click checkout",
            "One-click checkout",
            "pay-8-one-click",
        ),
        ("feat: one-click (#12)\n\nImplements PAY-8", "feat: one-click", ""),
    ],
)
def test_a_pull_request_as_its_commit_describes_it(message: str, title: str, branch: str) -> None:
    pull = pull_from_message(CommitInfo(SHA, message, "mona"), "https://github.com/acme/pay/pull/12")

    assert pull is not None
    assert (pull.number, pull.title, pull.author, pull.branch) == (12, title, "mona", branch)
    assert pull_from_message(CommitInfo(SHA, "plain commit", "mona"), "u") is None


def test_commits_that_came_in_with_a_merged_branch_are_part_of_its_pull_request() -> None:
    base, work, merge, direct = "0" * 40, "1" * 40, "2" * 40, "3" * 40
    full = Notes(
        base_sha=base,
        head_sha=direct,
        standing=Standing.AHEAD,
        total_commits=3,
        compare_url="",
        commits=(
            CommitInfo(work, "wip: half of it", "mona", parents=(base,)),
            CommitInfo(merge, "Merge pull request #4 from acme/x\n\nLedger", "web-flow", parents=(base, work)),
            CommitInfo(direct, "fix: typo", "hubot", parents=(merge,)),
        ),
        pulls=(PullInfo(4, "Ledger", "mona", "https://github.com/acme/pay/pull/4"),),
    )

    groups = grouped(Notes.from_json(full.to_json()))

    assert groups.other == ["Ledger (#4, @mona)"]
    assert groups.fixes == ["fix: typo (3333333, hubot)"]
    assert groups.features == []


def test_pieces_leave_room_for_escaping() -> None:
    text = "\n".join(["<" * 700, "a & b " * 100, "x" * 5000, "fine"])

    pieces, left_out = chunks(text, limit=1000, most=10)

    assert left_out == 0
    assert all(room(piece) <= 1000 for piece in pieces)
    assert pieces[-1].endswith("fine")
    assert any(piece.startswith("x") and "…" in piece for piece in pieces)  # cut, with an ellipsis
