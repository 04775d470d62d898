"""The command grammar: every subcommand's happy path, the errors people will hit, and a fuzz."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import grammar
from bot.domain.errors import DomainError, InvalidInput
from bot.domain.grammar import Command
from bot.domain.grammar.approvals import Approve, Reject, Withdraw
from bot.domain.grammar.change import Calendar, CalendarLink, Freeze, ListFreezes, Schedule, Subscribe, Unfreeze
from bot.domain.grammar.deploys import Deploy, Rollback, StatusReport, Verify
from bot.domain.grammar.registry import Help
from bot.domain.grammar.releases import Cancel, History, ListReleases, Propose, Show
from bot.domain.grammar.reviews import ActionAdd, ActionDone, ListActions, ReviewCommand
from bot.domain.validation import ReleaseRef
from bot.slack_text import mrkdwn

REF = ReleaseRef("payments", "2.4.0")


def command_types() -> set[type[Command]]:
    """Every command the feature modules define (`grammar` loads them all), at any depth below `Command`."""
    found: set[type[Command]] = set()
    pending = list(Command.__subclasses__())
    while pending:
        kind = pending.pop()
        found.add(kind)
        pending.extend(kind.__subclasses__())
    return found


def parse_or_refusal(text: str) -> Command | DomainError:
    """What the grammar made of `text`: a command, or the domain error it refused with (anything else raises)."""
    try:
        return grammar.parse(text)
    except DomainError as error:
        return error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("frobnicate now", Help(unknown="frobnicate")),
        ("propose", Propose()),
        ("propose payments 2.4.0 Faster  checkout", Propose("payments", "2.4.0", "Faster  checkout")),
        ("list", ListReleases()),
        ("list payments", ListReleases("payments")),
        ("show payments@2.4.0", Show(REF)),
        ("history payments@2.4.0", History(REF)),
        ("history payments@2.4.0 7", History(REF, 7)),
        ("history payments@2.4.0 007", History(REF, 7)),
        ("cancel payments@2.4.0", Cancel(REF)),
        ("approve payments@2.4.0", Approve(REF)),
        ("approve payments@2.4.0 looks good", Approve(REF, "looks good")),
        ("reject payments@2.4.0 missing tests", Reject(REF, "missing tests")),
        ("withdraw payments@2.4.0", Withdraw(REF)),
        ("deploy payments@2.4.0 qa", Deploy(REF, "qa")),
        ("deploy payments@2.4.0 prod --override hotfix for outage", Deploy(REF, "prod", "hotfix for outage")),
        ("verify payments@2.4.0 qa passed", Verify(REF, "qa", True)),
        ("verify payments@2.4.0 qa FAILED flaky login", Verify(REF, "qa", False, "flaky login")),
        ("rollback payments prod error rate up", Rollback("payments", "prod", "error rate up")),
        ("status", StatusReport()),
        ("status payments", StatusReport("payments")),
        ("freeze prod now +2h quarter close", Freeze("prod", "now", "+2h", "quarter close")),
        ("freezes", ListFreezes()),
        ("unfreeze 12", Unfreeze(12)),
        ("calendar", Calendar()),
        ("calendar 30", Calendar(30)),
        ("calendar link", CalendarLink()),
        ("schedule payments@2.4.0 2026-12-01T14:00", Schedule(REF, "2026-12-01T14:00")),
        ("schedule payments@2.4.0 +1d 2h", Schedule(REF, "+1d", "2h")),
        ("subscribe payments", Subscribe("payments")),
        ("unsubscribe payments", Subscribe("payments", on=False)),
        ("review start payments@2.4.0", ReviewCommand(REF, "start")),
        ("review close payments@2.4.0", ReviewCommand(REF, "close")),
        (
            "action add payments@2.4.0 <@U0BOB|bob> 2026-12-05 add canary alerts",
            ActionAdd(REF, "U0BOB", "2026-12-05", "add canary alerts"),
        ),
        ("action done 7", ActionDone(7)),
        ("actions", ListActions()),
        ("actions mine", ListActions(mine=True)),
    ],
)
def test_parses(text: str, expected: Command) -> None:
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
