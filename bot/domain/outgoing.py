"""Addresses Shipmate sends requests to (deployers, GitHub): which ones it may call, and how one is shown.

A deployer's URL may carry a secret (a token in its query, credentials before the host), so everywhere a URL is
shown (logs, the database, Slack, `shipmate doctor`) it goes through `redact`: scheme, host, port and path only.
"""

import ipaddress
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_NAMES = frozenset({"localhost"})
UNREADABLE = "(an unreadable URL)"


def redact(url: str) -> str:
    """`scheme://host[:port]/path` of `url`: no credentials, query or fragment. Never raises."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return UNREADABLE
    host = parts.hostname
    if not parts.scheme or not host:
        return UNREADABLE
    try:
        port = parts.port
    except ValueError:  # out of range or not a number: shown without it
        port = None
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, "", ""))


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: this machine, so plain http never leaves it."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def problem(url: str, *, allow_http: bool = False) -> str | None:
    """Why Shipmate must not send a request to `url` (None: it may). https only, unless the host is loopback or
    the deployer says `allow_http = true`; the port, when given, is a number from 1 to 65535."""
    shown = redact(url)
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "the URL cannot be read (an unclosed [ around an IPv6 host?)"
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        return f"{shown} is not an https:// URL with a host (like https://ci.example.com/hooks/deploy)"
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        written = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
        return f"port {written!r} of {shown} is not a number from 1 to 65535 (like https://ci.example.com:8443/hook)"
    if parts.scheme.lower() == "http" and not allow_http and not is_loopback(parts.hostname):
        return (
            f"{shown} uses http: Shipmate sends deployment requests over https only (plain http is allowed to "
            "localhost and 127.0.0.1); use an https:// URL, or set allow_http = true for this deployer if the "
            "network between Shipmate and it is trusted"
        )
    return None
