"""Policies per workspace: a workspace's own, else its organisation's, else the default; one repository or
deployer per workspace."""

import pytest

from bot.domain.policy import PolicyError, parse_policy
from bot.domain.policy_book import book

A = parse_policy('release_managers = ["U0A"]\n[services.pay]\ngithub_repository = "acme/pay"\n')
B = parse_policy('release_managers = ["U0B"]\n[services.bill]\ngithub_repository = "acme/bill"\n')
ORG = parse_policy('release_managers = ["U0ORG"]\n')
DEFAULT = parse_policy('release_managers = ["U0DEF"]\n')


def test_a_workspace_gets_its_own_then_its_organisations_then_the_default() -> None:
    found = book({"T0AAA": A, "E0ORG": ORG, "default": DEFAULT})
    assert found.for_team("T0AAA") is A
    assert found.for_team("T0AAA", "E0ORG") is A
    assert found.for_team("T0CCC", "E0ORG") is ORG
    assert found.for_team("T0CCC") is DEFAULT
    assert found.origin_for("T0CCC", "E0ORG") == "E0ORG.toml"
    assert found.owner_of_repository("ACME/Pay") == ("T0AAA", "pay")
    assert found.owner_of_repository("acme/none") is None


def test_without_a_default_file_the_built_in_defaults_serve_the_rest() -> None:
    assert book({"T0AAA": A}).for_team("T0BBB").release_managers == []


def test_one_repository_in_two_workspaces_is_refused() -> None:
    twin = parse_policy('[services.payments]\ngithub_repository = "Acme/Pay"\n')
    with pytest.raises(
        PolicyError, match=r"GitHub repository acme/pay is mapped by T0AAA.toml \(service pay\) and by T0BBB"
    ):
        book({"T0AAA": A, "T0BBB": twin})


def test_one_deployer_in_two_workspaces_is_refused() -> None:
    hook = '[services.{name}.deploy]\nwebhook = "https://ci.example.com/deploy"\n'
    with pytest.raises(PolicyError, match=r"deployer https://ci\.example\.com/deploy is mapped by"):
        book({"T0AAA": parse_policy(hook.format(name="pay")), "default": parse_policy(hook.format(name="bill"))})


def test_a_file_named_after_nothing_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"payments.toml: a policy file is named after a workspace"):
        book({"payments": A})


def test_two_workspaces_with_their_own_repositories_load() -> None:
    found = book({"T0AAA": A, "T0BBB": B})
    assert found.owner_of_repository("acme/bill") == ("T0BBB", "bill")
