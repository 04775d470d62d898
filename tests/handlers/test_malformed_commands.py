"""Every malformed command gets a clear ephemeral answer and changes nothing."""

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.harness import Harness

MALFORMED = [
    ("propose", None),  # opens the modal: not an error, but creates nothing by itself
    ("propose payments", "Missing the version"),
    ("propose payments 2.4.0", "Missing the summary"),
    ("propose payments " + "9" * 300 + " summary", "at most 64"),
    ("propose payments 2.4.0 " + "x" * 301, "at most 300"),
    ("propose 'payments' 2.4.0 quoted", "is not a service name"),
    ('propose "payments" 2.4.0 quoted', "is not a service name"),
    ("propose <b>pay</b> 2.4.0 tags", "is not a service name"),
    ("propose pay&ments 2.4.0 amp", "is not a service name"),
    ("propose payments 2.4.0;DROP_TABLE summary", "is not a version"),
    ("propose payments' OR 1=1 -- x", "is not a service name"),
    ("propose payments v2..4 double dots", "is not a version"),
    ("show payments", "service@version"),
    ("show nosuch@1.0.0", "There is no release nosuch@1.0.0"),
    ("history nosuch@1.0.0", "There is no release"),
    ("cancel nosuch@1.0.0", "There is no release"),
    ("approve nosuch@1.0.0", "There is no release"),
    ("reject payments@2.4.0", "Missing the reason"),
    ("deploy payments@2.4.0", "Missing the release and the environment"),
    ("list Payments!", "is not a service name"),
    ("unfreeze abc", "is not an id"),
    ("show @", "is not a release"),
]


@pytest.mark.parametrize(("text", "says"), MALFORMED, ids=[t[:30] for t, _ in MALFORMED])
async def test_malformed_command_is_answered_and_changes_nothing(
    harness: Harness, slack: FakeSlack, text: str, says: str | None
) -> None:
    if says is None:
        answer = await harness.command(text)
        assert answer.status == 200
        await slack.wait_for("views.open")
    else:
        shown = await harness.command_answer(text)
        assert says in shown
        assert "Traceback" not in shown
        assert "went wrong" not in shown
    listed = await harness.command_answer("list")
    assert "No releases yet" in listed
    assert slack.posts() == []


async def test_unknown_subcommand_gets_help(harness: Harness) -> None:
    shown = await harness.command_answer("deploy-everything <!here>")
    assert "I don't know" in shown
    assert "/release propose" in shown
    assert "<!here>" not in shown


async def test_duplicate_release_is_refused(harness: Harness, slack: FakeSlack) -> None:
    await harness.command_answer("propose payments 2.4.0 First")
    shown = await harness.command_answer("propose payments 2.4.0 Second")
    assert "payments@2.4.0 already exists" in shown
    await slack.settle()
    assert len([c for c in slack.posts() if "payments@2.4.0" in c.text_everywhere]) == 1


async def test_list_shows_the_newest_and_says_when_older_ones_exist(harness: Harness) -> None:
    for n in range(16):
        await harness.command_answer(f"propose payments 1.{n}.0 Release {n}")
    listed = await harness.command_answer("list payments")
    assert "payments@1.15.0" in listed
    assert "payments@1.1.0" in listed
    assert "payments@1.0.0" not in listed
    assert "Showing the newest 15" in listed
    assert "Showing the newest" not in await harness.command_answer("list billing")
