"""The health rules, pure: the policy's health keys, which alerts count, what an automatic rollback does, the soak
and its gate, and how `shipmate policy explain` shows them."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.gates import GateFacts, evaluate
from bot.domain.health import AlertSpan, AutoAction, Soak, automatic, countdown, in_watch, soak_since
from bot.domain.lifecycle import Status
from bot.domain.policy import PolicyError, parse_policy
from bot.domain.policy_explain import explain

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

HEALTHY = """
[[environments]]
name = "qa"

[[environments]]
name = "prod"
min_soak = "2h"
watch = "30m"
auto_rollback = "dry-run"
rollback_grace = "2m"

[alerts]
service_label = "app"
environment_label = "env"
environments = { production = "prod", staging = "qa" }
"""


def test_the_health_keys_are_read_and_explained() -> None:
    policy = parse_policy(HEALTHY)
    prod = policy.environments[1]
    assert (prod.min_soak, prod.watch, prod.auto_rollback, prod.rollback_grace) == ("2h", "30m", "dry-run", "2m")
    assert policy.environments[0].auto_rollback is False
    assert policy.alerts.environment_of("production") == "prod"
    assert policy.alerts.environment_of("qa") == "qa"
    text = explain(policy)
    assert "health:    min soak 2h in the previous environment" in text
    assert "auto rollback: dry run" in text
    assert "service label 'app', environment label 'env' (mapped: production = prod, staging = qa)" in text


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        ('auto_rollback = "yes"', "auto_rollback"),
        ('min_soak = "two hours"', "min_soak"),
        ('rollback_grace = "2x"', "rollback_grace"),
    ],
)
def test_bad_health_keys_name_the_key(snippet: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        parse_policy(f'[[environments]]\nname = "prod"\n{snippet}\n')


def test_alerts_may_only_map_to_known_environments() -> None:
    with pytest.raises(PolicyError, match="unknown environments"):
        parse_policy('[[environments]]\nname = "prod"\n[alerts]\nenvironments = { production = "live" }\n')


def test_which_alerts_count_against_a_deployment() -> None:
    watch = timedelta(minutes=30)
    assert in_watch(T0, watch, T0 + timedelta(minutes=5))
    assert in_watch(T0, watch, T0 + watch)
    assert not in_watch(T0, watch, T0 + timedelta(minutes=31))
    assert in_watch(T0, watch, T0 - timedelta(seconds=30))  # clocks and evaluation intervals differ a little
    assert not in_watch(T0, watch, T0 - timedelta(hours=1))  # firing before the deployment: not its doing


@pytest.mark.parametrize(
    ("auto", "firing", "decided", "live", "deployer", "expected"),
    [
        (False, True, "", True, True, AutoAction.NOTHING),
        (True, False, "", True, True, AutoAction.NOTHING),  # resolved within the grace: flapping
        (True, True, "not_related", True, True, AutoAction.NOTHING),
        (True, True, "", False, True, AutoAction.NOTHING),  # already rolled back or replaced
        ("dry-run", True, "", True, True, AutoAction.DRY_RUN),
        (True, True, "", True, True, AutoAction.REQUEST),
        (True, True, "", True, False, AutoAction.PAGE),
    ],
)
def test_what_an_automatic_rollback_does(
    auto: bool | str, firing: bool, decided: str, live: bool, deployer: bool, expected: AutoAction
) -> None:
    assert automatic(auto, still_firing=firing, decided=decided, still_live=live, deployer=deployer) is expected


def test_the_soak_runs_from_the_deployment_or_the_last_alert() -> None:
    assert soak_since(T0, False, []) == (T0, "")
    ended = T0 + timedelta(minutes=20)
    assert soak_since(T0, False, [AlertSpan("HighErrorRate", T0 + timedelta(minutes=5), ended)]) == (ended, "")
    assert soak_since(T0, False, [AlertSpan("HighErrorRate", T0, None)]) == (None, "HighErrorRate is firing")
    assert soak_since(T0, True, []) == (None, "it was rolled back there")
    assert soak_since(None, False, []) == (None, "it is not live there")


def _facts(soak: Soak, *, override: str | None = None, manager: bool = False) -> GateFacts:
    policy = parse_policy(HEALTHY)
    return GateFacts(
        ref="payments@2.4.0",
        status=Status.IN_PROGRESS,
        environment=policy.environments[1],
        previous_environment="qa",
        deployed_to_previous=True,
        approvals=None,
        regression_passed_in_previous=None,
        override_reason=override,
        actor_is_release_manager=manager,
        soak=soak,
    )


def test_the_soak_gate_refuses_at_1h59m_and_allows_at_2h() -> None:
    required = timedelta(hours=2)
    early = Soak("qa", required, T0, T0 + timedelta(hours=1, minutes=59))
    [refusal] = evaluate(_facts(early))
    assert refusal.gate == "soak"
    assert "qa soak: 1m left" in refusal.message.plain()
    assert "--override <reason>" in refusal.message.plain()
    assert evaluate(_facts(Soak("qa", required, T0, T0 + required))) == []
    assert evaluate(_facts(early, override="hotfix", manager=True)) == []
    [refused] = evaluate(_facts(early, override="hotfix", manager=False))
    assert "only a release manager" in refused.message.plain()


def test_countdown_reads_like_the_card() -> None:
    assert countdown(timedelta(hours=1, minutes=12)) == "1h12m"
    assert countdown(timedelta(hours=2)) == "2h"
    assert countdown(timedelta(minutes=45)) == "45m"
    assert countdown(timedelta(seconds=30)) == "30s"
    assert countdown(timedelta(days=1, hours=3)) == "1d3h"
