"""Which prompt a reply answers, the summary's grouping, and the limits on open action items."""

import pytest

from bot.domain.errors import Conflict
from bot.domain.review import (
    MAX_OPEN_ACTION_ITEMS,
    MAX_OPEN_PER_OWNER,
    check_room,
    classify,
    group_replies,
    segments,
)
from bot.slack_text import mrkdwn

PROMPTS = ["What went well?", "What did not go well?", "What should we change next time?"]


@pytest.mark.parametrize(
    ("line", "index", "rest"),
    [
        ("1. the canary", 0, "the canary"),
        ("2) slow approvals", 1, "slow approvals"),
        ("#3: automate it", 2, "automate it"),
        ("went well: the canary", 0, "the canary"),
        ("Did not go well: paging", 1, "paging"),
        ("didn't go well: paging", 1, "paging"),
        ("change: more tests", 2, "more tests"),
        ("well: ambiguous", None, "well: ambiguous"),  # names two prompts: left unsorted
        ("4. only three prompts", None, "4. only three prompts"),
        ("2.4.0 went out fine", None, "2.4.0 went out fine"),  # a version number is not a marker
        ("Note: unrelated", None, "Note: unrelated"),
        ("plain text", None, "plain text"),
    ],
)
def test_classify(line: str, index: int | None, rest: str) -> None:
    assert classify(line, PROMPTS) == (index, rest)


def test_one_reply_can_answer_several_prompts() -> None:
    text = "1. canary worked\nand fast\n2. approvals slow\n\n3. automate"
    assert segments(text, PROMPTS) == [(0, "canary worked\nand fast"), (1, "approvals slow"), (2, "automate")]


def test_group_keeps_authors_and_puts_unmarked_parts_last() -> None:
    sections = group_replies([("U1", "1. good"), ("U2", "random thought"), ("U3", "went well: also good")], PROMPTS)
    assert [s.title for s in sections] == [*PROMPTS, "Other comments"]
    assert [(a.user_id, a.text) for a in sections[0].answers] == [("U1", "good"), ("U3", "also good")]
    assert [(a.user_id, a.text) for a in sections[3].answers] == [("U2", "random thought")]
    assert group_replies([], PROMPTS)[-1].title == PROMPTS[-1]  # no "Other comments" when there are none


def test_action_items_have_room_up_to_fifty_a_review_and_ten_an_owner() -> None:
    check_room("p@1", open_items=MAX_OPEN_ACTION_ITEMS - 1)
    check_room("p@1", open_items=MAX_OPEN_ACTION_ITEMS - 1, owner_id="U0DAVE", owned=MAX_OPEN_PER_OWNER - 1)
    with pytest.raises(Conflict) as full:
        check_room("p@1", open_items=MAX_OPEN_ACTION_ITEMS, owner_id="U0DAVE", owned=0)
    assert full.value.plain == (
        "p@1 has 50 open action items, the most a review may have: mark one done first (`/release action done <id>`)."
    )
    assert full.value.field is None
    with pytest.raises(Conflict) as owned:
        check_room("p@1", open_items=12, owner_id="U0DAVE", owned=MAX_OPEN_PER_OWNER)
    assert mrkdwn(owned.value.text).startswith("<@U0DAVE> owns 10 open action items on p@1, the most one person may")
    assert "`/release action done &lt;id&gt;`" in mrkdwn(owned.value.text)
    assert owned.value.field == "owner"  # the modal shows it under the owner
    check_room("p@1", open_items=12, owned=MAX_OPEN_PER_OWNER)  # no owner named: only the review's limit
