"""Where Shipmate may send a request, and how an address is shown: the deployer's policy keys are checked when the
policy loads (`webhook`, `allow_http`), and a URL is shown as scheme, host, port and path, whatever it holds."""

import pytest

from bot.domain.outgoing import UNREADABLE, is_loopback, problem, redact
from bot.domain.policy import PolicyError, parse_policy


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://ci:hunter2@deploy.example.com:8443/hooks/ship?token=abc#frag",
            "https://deploy.example.com:8443/hooks/ship",
        ),
        ("HTTPS://CI.Example.com/Hook?x=1", "https://ci.example.com/Hook"),
        ("http://[::1]:8080/hook?token=t", "http://[::1]:8080/hook"),
        ("https://ci.example.com:99999/hook?token=t", "https://ci.example.com/hook"),  # a bad port is left out
        ("https://ci.example.com:abc/hook?token=t", "https://ci.example.com/hook"),
        ("http://[::1/hook?token=t", UNREADABLE),
        ("not a url?token=t", UNREADABLE),
        ("", UNREADABLE),
    ],
)
def test_redact_keeps_scheme_host_port_and_path_only_and_never_raises(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
     ("[::1]", True), ("10.0.0.1", False), ("localhost.example.com", False), ("ci.example.com", False)],
)  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("url", "allow_http", "says"),
    [
        ("https://ci.example.com/hook", False, None),
        ("http://127.0.0.1:9000/hook", False, None),
        ("http://localhost/hook", False, None),
        ("http://[::1]/hook", False, None),
        ("http://ci.internal/hook", True, None),
        ("http://ci.internal/hook?token=s3cret", False, "http://ci.internal/hook uses http"),
        ("https://ci.example.com:99999/hook", False, "port '99999' of https://ci.example.com/hook is not a number"),
        ("https://ci.example.com:http/hook", False, "port 'http' of https://ci.example.com/hook is not a number"),
        ("https://ci.example.com:0/hook", False, "port '0' of https://ci.example.com:0/hook is not a number"),
        ("ftp://ci.example.com/hook", False, "is not an https:// URL with a host"),
        ("http://[::1/hook", False, "cannot be read"),
    ],
)
def test_what_may_be_called(url: str, allow_http: bool, says: str | None) -> None:
    found = problem(url, allow_http=allow_http)
    if says is None:
        assert found is None
    else:
        assert found is not None
        assert says in found
        assert "s3cret" not in found


def _deployer(lines: str) -> str:
    return f"""
[services.payments]
channel = "C0PAYMENTS"

[services.payments.deploy]
{lines}
"""


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        (
            'webhook = "http://ci.example.com/hooks/ship?token=s3cret"',
            "policy:6: services.payments.deploy.webhook: http://ci.example.com/hooks/ship uses http: Shipmate sends "
            "deployment requests over https only",
        ),
        (
            'webhook = "https://ci.example.com:99999/hooks/ship?token=s3cret"',
            "policy:6: services.payments.deploy.webhook: port '99999' of https://ci.example.com/hooks/ship is not a "
            "number from 1 to 65535",
        ),
        (
            'webhook = "https://ci.example.com:80a/hooks/ship"',
            "policy:6: services.payments.deploy.webhook: port '80a' of https://ci.example.com/hooks/ship is not a "
            "number from 1 to 65535",
        ),
        (
            'github_workflow = "acme/payments/.github/workflows/deploy.yml"\nallow_http = true',
            "policy:5: services.payments.deploy: allow_http is for webhook deployers only",
        ),
    ],
)
def test_policy_check_refuses_a_deployer_url_shipmate_may_not_call(lines: str, says: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(_deployer(lines))
    assert str(raised.value).startswith(says), str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_allow_http_lets_a_deployer_use_plain_http_whatever_order_the_keys_are_written_in() -> None:
    policy = parse_policy(_deployer('webhook = "http://ci.internal:8080/hooks/ship"\nallow_http = true'))
    deployer = policy.deployer("payments")
    assert deployer is not None
    assert deployer.allow_http
    inline = parse_policy('[services.payments]\ndeploy = { webhook = "http://127.0.0.1:9/h" }\n').deployer("payments")
    assert inline is not None
    assert not inline.allow_http
