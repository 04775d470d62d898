"""Evidence for auditors: the audit trail's hash chain checked (`shipmate audit verify`), production changes
exported (`shipmate export changes`, `/release export`) and an export checked again (`shipmate export verify`)."""

from bot.services.evidence.chain_check import Break, Verdict, verify
from bot.services.evidence.change_export import Scope, Stamp, changes, write_csv, write_json
from bot.services.evidence.export_check import ExportCheck, check_export, file_digest, sidecar

__all__ = [
    "Break",
    "ExportCheck",
    "Scope",
    "Stamp",
    "Verdict",
    "changes",
    "check_export",
    "file_digest",
    "sidecar",
    "verify",
    "write_csv",
    "write_json",
]
