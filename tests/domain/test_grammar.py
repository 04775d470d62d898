"""The command grammar: every subcommand's happy path, the errors people will hit, and a fuzz."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import commands as cmd
from bot.domain import grammar
from bot.domain.errors import DomainError, InvalidInput
from bot.domain.validation import ReleaseRef
from bot.slack_text import mrkdwn

REF = ReleaseRef("payments", "2.4.0")


def parse_or_refusal(text: str) -> cmd.Command | DomainError:
    """What the grammar made of `text`: a command, or the domain error it refused with (anything else raises)."""
    try:
        return grammar.parse(text)
    except DomainError as error:
        return error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", cmd.Help()),
        ("help", cmd.Help()),
        ("HELP", cmd.Help()),
        ("frobnicate now", cmd.Help(unknown="frobnicate")),
        ("propose", cmd.Propose()),
        ("propose payments 2.4.0 Faster  checkout", cmd.Propose("payments", "2.4.0", "Faster  checkout")),
        ("list", cmd.ListReleases()),
        ("list payments", cmd.ListReleases("payments")),
        ("show payments@2.4.0", cmd.Show(REF)),
        ("history payments@2.4.0", cmd.History(REF)),
        ("history payments@2.4.0 7", cmd.History(REF, 7)),
        ("history payments@2.4.0 007", cmd.History(REF, 7)),
        ("cancel payments@2.4.0", cmd.Cancel(REF)),
        ("approve payments@2.4.0", cmd.Approve(REF)),
        ("approve payments@2.4.0 looks good", cmd.Approve(REF, "looks good")),
        ("reject payments@2.4.0 missing tests", cmd.Reject(REF, "missing tests")),
        ("withdraw payments@2.4.0", cmd.Withdraw(REF)),
        ("deploy payments@2.4.0 qa", cmd.Deploy(REF, "qa")),
        ("deploy payments@2.4.0 prod --override hotfix for outage", cmd.Deploy(REF, "prod", "hotfix for outage")),
        ("verify payments@2.4.0 qa passed", cmd.Verify(REF, "qa", True)),
        ("verify payments@2.4.0 qa FAILED flaky login", cmd.Verify(REF, "qa", False, "flaky login")),
        ("rollback payments prod error rate up", cmd.Rollback("payments", "prod", "error rate up")),
        ("status", cmd.StatusReport()),
        ("status payments", cmd.StatusReport("payments")),
        ("freeze prod now +2h quarter close", cmd.Freeze("prod", "now", "+2h", "quarter close")),
        ("freezes", cmd.ListFreezes()),
        ("unfreeze 12", cmd.Unfreeze(12)),
        ("calendar", cmd.Calendar()),
        ("calendar 30", cmd.Calendar(30)),
        ("calendar link", cmd.CalendarLink()),
        ("schedule payments@2.4.0 2026-12-01T14:00", cmd.Schedule(REF, "2026-12-01T14:00")),
        ("schedule payments@2.4.0 +1d 2h", cmd.Schedule(REF, "+1d", "2h")),
        ("subscribe payments", cmd.Subscribe("payments")),
        ("unsubscribe payments", cmd.Subscribe("payments", on=False)),
        ("review start payments@2.4.0", cmd.ReviewCommand(REF, "start")),
        ("review close payments@2.4.0", cmd.ReviewCommand(REF, "close")),
        (
            "action add payments@2.4.0 <@U0BOB|bob> 2026-12-05 add canary alerts",
            cmd.ActionAdd(REF, "U0BOB", "2026-12-05", "add canary alerts"),
        ),
        ("action done 7", cmd.ActionDone(7)),
        ("actions", cmd.ListActions()),
        ("actions mine", cmd.ListActions(mine=True)),
    ],
)
def test_parses(text: str, expected: cmd.Command) -> None:
    assert grammar.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("propose payments", "Missing the version"),
        ("propose payments 2.4.0", "Missing the summary"),
        ("propose Payments 2.4.0 x", "is not a service name"),
        ("propose payments two x", "is not a version"),
        ("propose payments " + "1" * 300 + " x", "at most 64"),
        ("propose payments 2.4.0 " + "x" * 301, "at most 300"),
        ("show payments", "service@version"),
        ("show", "Missing the release"),
        ("approve", "Missing the release"),
        ("reject payments@2.4.0", "Missing the reason"),
        ("deploy payments@2.4.0", "Missing the release and the environment"),
        ("deploy payments@2.4.0 prod --force", "only `--override"),
        ("deploy payments@2.4.0 prod --override", "needs a reason"),
        ("verify payments@2.4.0 qa maybe", "must be `passed` or `failed`"),
        ("rollback payments prod", "Missing the reason"),
        ("unfreeze", "Missing the id"),
        ("unfreeze twelve", "is not an id"),
        ("calendar 9999", "between 1 and 366"),
        ("review payments@2.4.0", "Say `start` or `close`"),
        ("action add payments@2.4.0 bob 2026-12-05 text", "is not a person"),
        ("actions yours", "say `mine`"),
        ("list payments extra", "Unexpected"),
        ("history payments@2.4.0 0", "is not a page number"),
        ("history payments@2.4.0 last", "is not a page number"),
        ("history", "Missing the release"),
    ],
)
def test_errors_name_the_problem_and_the_usage(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        grammar.parse(text)
    assert says in mrkdwn(caught.value.text)


def test_user_text_in_errors_is_escaped() -> None:
    with pytest.raises(InvalidInput) as caught:
        grammar.parse("show <!channel>")
    assert "<!channel>" not in mrkdwn(caught.value.text)
    assert "&lt;!channel&gt;" in mrkdwn(caught.value.text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_or_raises_a_domain_error(text: str) -> None:
    outcome = parse_or_refusal(text)
    if isinstance(outcome, DomainError):
        assert mrkdwn(outcome.text)
    else:
        assert outcome is not None


@settings(max_examples=200, deadline=None)
@given(
    verb=st.sampled_from(sorted(grammar.VERBS)),
    words=st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30), max_size=6),
)
def test_known_verbs_with_random_arguments(verb: str, words: list[str]) -> None:
    outcome = parse_or_refusal(" ".join([verb, *words]))
    if isinstance(outcome, DomainError):
        assert mrkdwn(outcome.text)


@pytest.mark.parametrize(
    "text", ["unfreeze ¹", "unfreeze ٣", "calendar ²", "action done ⁷", "metrics payments ¹", "history p@1 ²"]
)
def test_digits_that_are_not_ascii_are_refused_as_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        grammar.parse(text)
