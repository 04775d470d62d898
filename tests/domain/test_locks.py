"""Deploy locks, pure: the lock gate (holder, bypass, `*`), lengths within `[locks]`, and the policy table."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.gates import lock_gate
from bot.domain.grammar import parse
from bot.domain.grammar.locks import Lock, Unlock
from bot.domain.locks import ActiveLock, blocking, length
from bot.domain.policy import PolicyError, parse_policy
from bot.domain.policy_locks import Locks
from bot.slack_text import mrkdwn
from tests.domain.test_gates import facts

UNTIL = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PAYMENTS = ActiveLock(1, "payments", "prod", "U0DAVE", "migrating the ledger <!channel>", UNTIL)
INCIDENT = ActiveLock(2, "*", "prod", "U0ERIN", "incident 42", UNTIL)


def test_a_lock_refuses_anyone_but_its_holder_naming_holder_end_and_reason() -> None:
    refused = lock_gate(facts(service="payments", locks=[PAYMENTS], lock_acting_for=frozenset({"U0BOB"})))
    assert refused is not None
    assert refused.gate == "lock"
    text = mrkdwn(refused.message)
    assert text.startswith("payments prod is locked by <@U0DAVE> until <!date^")
    assert "migrating the ledger &lt;!channel&gt;" in text
    assert refused.public == "payments prod is locked"  # what GitHub may see: no reason
    assert lock_gate(facts(service="payments", locks=[PAYMENTS], lock_acting_for=frozenset({"U0DAVE"}))) is None
    assert lock_gate(facts(service="payments")) is None


def test_only_bypass_goes_through_an_all_services_lock_and_never_a_service_lock() -> None:
    base = facts(service="payments", locks=[INCIDENT], lock_acting_for=frozenset({"U0BOB"}))
    refused = lock_gate(base)
    assert refused is not None
    assert "every service in prod is locked by <@U0ERIN>" in mrkdwn(refused.message)
    assert lock_gate(replace(base, lock_bypass=True)) is None
    assert blocking([INCIDENT], acting_for=frozenset({"U0BOB"}), bypass=True) == (None, [INCIDENT])
    assert lock_gate(replace(base, locks=[PAYMENTS], lock_bypass=True)) is not None
    offered = replace(INCIDENT, offered=True)
    assert lock_gate(replace(base, locks=[offered], lock_bypass=True)) is not None  # held for the next in line


def test_lengths_come_from_the_policy_and_stop_at_its_max() -> None:
    policy = Locks(default="2h", max="24h")
    assert length(None, policy) == timedelta(hours=2)
    assert length("3h", policy) == timedelta(hours=3)
    with pytest.raises(InvalidInput, match="at most 24h"):
        length("2d", policy)
    with pytest.raises(PolicyError, match="longer than max"):
        parse_policy('[locks]\ndefault = "2d"\nmax = "1d"\n')
    with pytest.raises(PolicyError, match=r"locks\.bypass"):
        parse_policy('[locks]\nbypass = ["incident"]\n')
    assert "S0INCIDENT" in parse_policy('[locks]\nbypass = ["S0INCIDENT"]\n').group_ids


def test_the_grammar_reads_service_or_star_reason_and_an_optional_duration() -> None:
    assert parse("lock payments prod migrating the ledger for 3h") == Lock(
        "payments", "prod", "migrating the ledger", "3h"
    )
    assert parse("lock * prod incident for real") == Lock("*", "prod", "incident for real", None)
    assert parse("unlock * prod") == Unlock("*", "prod")
