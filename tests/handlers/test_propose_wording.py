"""A new proposal is answered "Proposed"; only a rejected release proposed again is answered "Proposed again"."""

from tests.harness import Harness


async def test_a_new_proposal_is_not_proposed_again(harness: Harness) -> None:
    answer = await harness.command_answer("propose payments 2.4.0 Faster checkout")
    assert "📝 Proposed *payments@2.4.0*" in answer
    assert "Proposed again" not in answer
