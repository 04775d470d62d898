"""What a valid service name, version and release text look like, with errors that say how to fix them."""

import re
from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.mrkdwn import code

SERVICE_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")
# Semantic-ish: 2.4.0, v2.4, 2026.11.30, 1.0.0-rc.1+build.5
VERSION_PATTERN = re.compile(r"^v?\d{1,9}(\.\d{1,9}){0,3}([-+][0-9A-Za-z.+-]{1,40})?$")
MAX_VERSION = 64
MAX_SUMMARY = 300
MAX_CHANGES = 2500
MAX_ROLLBACK_PLAN = 1000
MAX_REASON = 500
RISKS = ("low", "medium", "high")


@dataclass(frozen=True)
class ReleaseRef:
    service: str
    version: str

    def __str__(self) -> str:
        return f"{self.service}@{self.version}"


def check_service(name: str) -> str:
    if not SERVICE_PATTERN.match(name):
        raise InvalidInput(
            f"{code(name, 40)} is not a service name; use lowercase letters, digits, `.`, `_` or `-`, "
            "starting with a letter (at most 63 characters), like `payments`."
        )
    return name


def check_version(version: str) -> str:
    if len(version) > MAX_VERSION:
        raise InvalidInput(f"The version is {len(version)} characters long; at most {MAX_VERSION} are allowed.")
    if not VERSION_PATTERN.match(version):
        raise InvalidInput(
            f"{code(version, 40)} is not a version; use dotted numbers like `2.4.0`, `v2.4` or `1.0.0-rc.1`."
        )
    return version


def check_text(value: str, *, field: str, limit: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"The {field} is missing.")
    if len(value) > limit:
        raise InvalidInput(f"The {field} is {len(value)} characters long; at most {limit} are allowed.")
    return value


def check_risk(risk: str) -> str:
    risk = risk.strip().lower()
    if risk not in RISKS:
        raise InvalidInput(f"{code(risk, 20)} is not a risk level; use one of {', '.join(RISKS)}.")
    return risk


def parse_ref(text: str) -> ReleaseRef:
    """`payments@2.4.0` → ReleaseRef; errors name the expected shape."""
    service, sep, version = text.partition("@")
    if not sep or not service or not version:
        raise InvalidInput(f"{code(text, 40)} is not a release; write it as `service@version`, like `payments@2.4.0`.")
    return ReleaseRef(check_service(service), check_version(version))
