"""Evidence for auditors: the audit trail's hash chain checked (`shipmate audit verify`), production changes
exported (`shipmate export changes`, `/release export`) and an export checked again (`shipmate export verify`)."""

from bot.services.evidence.chain_check import Break, Verdict, verify

__all__ = ["Break", "Verdict", "verify"]
