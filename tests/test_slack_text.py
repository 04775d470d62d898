"""The renderers of a `Message`: mrkdwn for Slack (every value and the sentence escaped once, each construct built
by one function, the templates' filters included) and plain text for JSON answers, modal errors and logs."""

from datetime import UTC, datetime

import pytest

from bot.domain.message import Code, Mention, Message, Strong, When, mentions, plain
from bot.render import environment
from bot.slack_text import date, mention, mrkdwn

HOSTILE = "<!channel> <@U0EVIL> <https://evil.example|click> & *bold* `tick`"
AT = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
STAMP = int(AT.timestamp())


def test_hostile_text_stays_inert_in_the_sentence_and_every_kind_of_value() -> None:
    message = Message(
        "Note <!here> & {text} {strong} {code} {nested} {listed}",
        text=HOSTILE,
        strong=Strong(HOSTILE),
        code=Code(HOSTILE, limit=200),
        nested=Message("{inner}", inner=HOSTILE),
        listed=[HOSTILE, Strong(HOSTILE)],
    )
    shown = mrkdwn(message)
    for dangerous in ("<!here>", "<!channel>", "<@U0EVIL>", "<https://evil.example|click>"):
        assert dangerous not in shown
    assert shown.startswith("Note &lt;!here&gt; &amp; &lt;!channel&gt; &lt;@U0EVIL&gt;")
    assert "*&lt;!channel&gt; &lt;@U0EVIL&gt; &lt;https://evil.example|click&gt; &amp; *bold* `tick`*" in shown
    assert "`&lt;!channel&gt; &lt;@U0EVIL&gt; &lt;https://evil.example|click&gt; &amp; *bold* 'tick'`" in shown
    assert "&amp;amp;" not in shown  # escaped once, however deep the value sits


def test_plain_text_keeps_the_words_without_markup() -> None:
    message = Message(
        "{who} moved {ref} to {env} at {at} ({code})",
        who=Mention("U0BOB"),
        ref=Strong("payments@2.4.0"),
        env="prod & <qa>",
        at=When(AT),
        code=Code("/release show payments@2.4.0"),
    )
    assert plain(message) == message.plain() == str(message)
    assert (
        plain(message)
        == "@U0BOB moved payments@2.4.0 to prod & <qa> at 2026-12-01 14:05 UTC (`/release show payments@2.4.0`)"
    )


@pytest.mark.parametrize(
    ("entity_id", "shown"),
    [
        ("U0BOB", "<@U0BOB>"),
        ("W0ENTERPRISE", "<@W0ENTERPRISE>"),
        ("S0RELMGR", "<!subteam^S0RELMGR>"),
        ("C0RELEASE", "<#C0RELEASE>"),
        ("G0PRIVATE", "<#G0PRIVATE>"),
        ("<!channel>", "&lt;!channel&gt;"),  # not an id: shown as text, never a ping
        ("u0lower", "u0lower"),
    ],
)
def test_mentions_by_kind_of_id(entity_id: str, shown: str) -> None:
    assert mention(entity_id) == shown
    assert mrkdwn(Mention(entity_id)) == shown
    assert mrkdwn(Message("{who}", who=mentions([entity_id, entity_id]))) == f"{shown}, {shown}"


def test_a_moment_is_one_date_builder_for_messages_and_templates() -> None:
    assert mrkdwn(When(AT)) == f"<!date^{STAMP}^{{date_short_pretty}} {{time}}|2026-12-01 14:05 UTC>"
    assert mrkdwn(When(AT, time_only=True)) == f"<!date^{STAMP}^{{time}}|14:05 UTC>"
    assert plain(When(AT, time_only=True)) == "14:05 UTC"
    filters = environment().filters
    assert filters["slack_date"](AT) == mrkdwn(When(AT)) == date(AT)
    assert filters["slack_date"](AT, "{date_short}") == f"<!date^{STAMP}^{{date_short}}|2026-12-01 14:05 UTC>"
    assert filters["slack_date"](None) == "not set"


def test_strong_and_code() -> None:
    assert mrkdwn(Strong("qa")) == "*qa*"
    assert plain(Strong("qa")) == "qa"
    assert mrkdwn(Code("a`b")) == "`a'b`"  # a backtick cannot close the span early
    assert mrkdwn(Code("x" * 80)) == "`" + "x" * 60 + "…`"  # a person's input is echoed shortened


def test_the_templates_filters_are_the_renderers() -> None:
    filters = environment().filters
    assert filters["mrkdwn"] is mrkdwn
    assert filters["mention"] is mention
    message = Message("{ref} is live in {env}, by {who}", ref=Strong("p@1"), env="qa <b>", who=Mention("U0A"))
    rendered = (
        environment().from_string("{{ text | mrkdwn }} · {{ message | mrkdwn }}").render(text=HOSTILE, message=message)
    )
    assert rendered == f"{mrkdwn(HOSTILE)} · *p@1* is live in qa &lt;b&gt;, by <@U0A>"
