"""Where the policy comes from, first match wins:

1. `SHIPMATE_POLICY_TOML`: the policy itself (platforms where adding a file means forking the repository);
2. `SHIPMATE_POLICY`: the file it names; set but missing or unreadable is an error, never the defaults;
3. `./shipmate.toml`, when the working directory has one;
4. the built-in defaults.

Failing closed matters: a typo in `SHIPMATE_POLICY` must not quietly replace the release managers and approvers
with the permissive defaults.
"""

from dataclasses import dataclass
from pathlib import Path

from bot.domain.policy import Policy, PolicyError, parse_policy
from bot.settings import Settings

PRECEDENCE = "SHIPMATE_POLICY_TOML > SHIPMATE_POLICY > ./shipmate.toml > built-in defaults"
DEFAULTS = "built-in defaults"


@dataclass(frozen=True)
class PolicySource:
    policy: Policy
    origin: str  # what a person reads: "SHIPMATE_POLICY_TOML", "/etc/shipmate.toml (SHIPMATE_POLICY)", …
    note: str = ""  # e.g. a variable that is set but loses to a stronger one

    @property
    def is_default(self) -> bool:
        return self.origin == DEFAULTS


def resolve(settings: Settings) -> PolicySource:
    """The policy in force for these settings; `PolicyError` (one line naming the source) when it cannot be read."""
    explicit = "shipmate_policy" in settings.model_fields_set
    if settings.shipmate_policy_toml.strip():
        policy = parse_policy(settings.shipmate_policy_toml, source="SHIPMATE_POLICY_TOML")
        note = f"SHIPMATE_POLICY={settings.shipmate_policy} is ignored" if explicit else ""
        return PolicySource(policy, "SHIPMATE_POLICY_TOML", note)
    path = settings.shipmate_policy
    if explicit:
        return PolicySource(_parse(path, variable="SHIPMATE_POLICY"), f"{path} (SHIPMATE_POLICY)")
    if path.exists():
        return PolicySource(_parse(path, variable=None), f"{path} (in the working directory)")
    return PolicySource(Policy(), DEFAULTS)


def read_file(path: Path) -> Policy:
    """A policy file someone named (e.g. `shipmate policy check FILE`): it must exist and be readable."""
    return _parse(path, variable=None)


def _parse(path: Path, *, variable: str | None) -> Policy:
    named = f"{variable}={path}" if variable else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fix = f" (fix the path, or unset {variable} for ./shipmate.toml or the built-in defaults)" if variable else ""
        raise PolicyError(f"{named}: no such file{fix}") from None
    except IsADirectoryError:
        raise PolicyError(f"{named}: is a directory, not a policy file") from None
    except PermissionError:
        raise PolicyError(f"{named}: not readable by this process (permission denied)") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{named}: not UTF-8 text") from None
    except OSError as exc:
        raise PolicyError(f"{named}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    return parse_policy(text, source=str(path))
