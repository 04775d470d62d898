"""The command grammar: every subcommand's happy path, the errors people will hit, and a fuzz."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import grammar
from bot.domain.errors import DomainError, InvalidInput
from bot.domain.validation import ReleaseRef

REF = ReleaseRef("payments", "2.4.0")


def parse_or_refusal(text: str) -> grammar.Command | DomainError:
    """What the grammar made of `text`: a command, or the domain error it refused with (anything else raises)."""
    try:
        return grammar.parse(text)
    except DomainError as error:
        return error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", grammar.Help()),
        ("help", grammar.Help()),
        ("HELP", grammar.Help()),
        ("frobnicate now", grammar.Help(unknown="frobnicate")),
        ("propose", grammar.Propose()),
        ("propose payments 2.4.0 Faster  checkout", grammar.Propose("payments", "2.4.0", "Faster  checkout")),
        ("list", grammar.ListReleases()),
        ("list payments", grammar.ListReleases("payments")),
        ("show payments@2.4.0", grammar.Show(REF)),
        ("history payments@2.4.0", grammar.History(REF)),
        ("cancel payments@2.4.0", grammar.Cancel(REF)),
        ("approve payments@2.4.0", grammar.Approve(REF)),
        ("approve payments@2.4.0 looks good", grammar.Approve(REF, "looks good")),
        ("reject payments@2.4.0 missing tests", grammar.Reject(REF, "missing tests")),
        ("withdraw payments@2.4.0", grammar.Withdraw(REF)),
        ("deploy payments@2.4.0 qa", grammar.Deploy(REF, "qa")),
        ("deploy payments@2.4.0 prod --override hotfix for outage", grammar.Deploy(REF, "prod", "hotfix for outage")),
        ("verify payments@2.4.0 qa passed", grammar.Verify(REF, "qa", True)),
        ("verify payments@2.4.0 qa FAILED flaky login", grammar.Verify(REF, "qa", False, "flaky login")),
        ("rollback payments prod error rate up", grammar.Rollback("payments", "prod", "error rate up")),
        ("status", grammar.StatusReport()),
        ("status payments", grammar.StatusReport("payments")),
        ("freeze prod now +2h quarter close", grammar.Freeze("prod", "now", "+2h", "quarter close")),
        ("freezes", grammar.ListFreezes()),
        ("unfreeze 12", grammar.Unfreeze(12)),
        ("calendar", grammar.Calendar()),
        ("calendar 30", grammar.Calendar(30)),
        ("calendar link", grammar.CalendarLink()),
        ("schedule payments@2.4.0 2026-12-01T14:00", grammar.Schedule(REF, "2026-12-01T14:00")),
        ("schedule payments@2.4.0 +1d 2h", grammar.Schedule(REF, "+1d", "2h")),
        ("subscribe payments", grammar.Subscribe("payments")),
        ("unsubscribe payments", grammar.Subscribe("payments", on=False)),
        ("review start payments@2.4.0", grammar.ReviewCommand(REF, "start")),
        ("review close payments@2.4.0", grammar.ReviewCommand(REF, "close")),
        (
            "action add payments@2.4.0 <@U0BOB|bob> 2026-12-05 add canary alerts",
            grammar.ActionAdd(REF, "U0BOB", "2026-12-05", "add canary alerts"),
        ),
        ("action done 7", grammar.ActionDone(7)),
        ("actions", grammar.ListActions()),
        ("actions mine", grammar.ListActions(mine=True)),
    ],
)
def test_parses(text: str, expected: grammar.Command) -> None:
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
    ],
)
def test_errors_name_the_problem_and_the_usage(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        grammar.parse(text)
    assert says in caught.value.message


def test_user_text_in_errors_is_escaped() -> None:
    with pytest.raises(InvalidInput) as caught:
        grammar.parse("show <!channel>")
    assert "<!channel>" not in caught.value.message
    assert "&lt;!channel&gt;" in caught.value.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_or_raises_a_domain_error(text: str) -> None:
    outcome = parse_or_refusal(text)
    if isinstance(outcome, DomainError):
        assert outcome.message
    else:
        assert outcome is not None


@settings(max_examples=200, deadline=None)
@given(
    verb=st.sampled_from(sorted(grammar.USAGE)),
    words=st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30), max_size=6),
)
def test_known_verbs_with_random_arguments(verb: str, words: list[str]) -> None:
    outcome = parse_or_refusal(" ".join([verb, *words]))
    if isinstance(outcome, DomainError):
        assert outcome.message
