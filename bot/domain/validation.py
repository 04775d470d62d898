"""What a valid service name, version and release text look like, with errors that say how to fix them."""

import re
from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.message import Code

SERVICE_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")
# Semantic-ish: 2.4.0, v2.4, 2026.11.30, 1.0.0-rc.1+build.5
VERSION_PATTERN = re.compile(r"^v?\d{1,9}(\.\d{1,9}){0,3}([-+][0-9A-Za-z.+-]{1,40})?$")
MAX_VERSION = 64
MAX_SUMMARY = 300
MAX_CHANGES = 2500
MAX_ROLLBACK_PLAN = 1000
MAX_REASON = 500
RISKS = ("low", "medium", "high")


def is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also says yes to "¹" or "٣", which `int()` then refuses or reads oddly."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True)
class ReleaseRef:
    service: str
    version: str

    def __str__(self) -> str:
        return f"{self.service}@{self.version}"


def check_service(name: str) -> str:
    if not SERVICE_PATTERN.match(name):
        raise InvalidInput(
            "{name} is not a service name; use lowercase letters, digits, `.`, `_` or `-`, "
            "starting with a letter (at most 63 characters), like `payments`.",
            field="service",
            name=Code(name, 40),
        )
    return name


def check_version(version: str) -> str:
    if len(version) > MAX_VERSION:
        raise InvalidInput(
            "The version is {length} characters long; at most {limit} are allowed.",
            field="version",
            length=len(version),
            limit=MAX_VERSION,
        )
    if not VERSION_PATTERN.match(version):
        raise InvalidInput(
            "{version} is not a version; use dotted numbers like `2.4.0`, `v2.4` or `1.0.0-rc.1`.",
            field="version",
            version=Code(version, 40),
        )
    return version


def check_text(value: str, *, label: str, limit: int, required: bool = True, field: str | None = None) -> str:
    """`label` names the text for the person ("list of changes"); `field` names the input for a form."""
    value = value.strip()
    if required and not value:
        raise InvalidInput("The {label} is missing.", field=field, label=label)
    if len(value) > limit:
        raise InvalidInput(
            "The {label} is {length} characters long; at most {limit} are allowed.",
            field=field,
            label=label,
            length=len(value),
            limit=limit,
        )
    return value


def check_risk(risk: str) -> str:
    risk = risk.strip().lower()
    if risk not in RISKS:
        raise InvalidInput(
            "{risk} is not a risk level; use one of {risks}.", field="risk", risk=Code(risk, 20), risks=RISKS
        )
    return risk


def parse_ref(text: str) -> ReleaseRef:
    """`payments@2.4.0` → ReleaseRef; errors name the expected shape."""
    service, sep, version = text.partition("@")
    if not sep or not service or not version:
        raise InvalidInput(
            "{text} is not a release; write it as `service@version`, like `payments@2.4.0`.", text=Code(text, 40)
        )
    return ReleaseRef(check_service(service), check_version(version))


MAX_URL = 500
_URL = re.compile(r"^https?://[^\s<>|\"]{1,490}$")


def check_incident(text: str) -> str:
    """An incident's link: http(s), as typed or as Slack wraps it (`<https://…>` or `<https://…|label>`)."""
    url = text.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1].partition("|")[0]
    if not _URL.match(url) or len(url) > MAX_URL:
        raise InvalidInput(
            "{url} is not a link to the incident; give its http(s) address, like `https://status.example.com/i/42`.",
            field="incident",
            url=Code(text, 60),
        )
    return url
