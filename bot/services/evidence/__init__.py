"""Evidence for auditors: the audit trail's hash chain checked (`shipmate audit verify`), production changes
exported (`shipmate export changes`, `/release export`) and an export checked again (`shipmate export verify`)."""

from bot.services.evidence.chain_check import Break, Verdict, verify
from bot.services.evidence.change_export import Scope, Stamp, changes, write_csv, write_json
from bot.services.evidence.export_check import ExportCheck, check_export, file_digest, sidecar
from bot.services.evidence.slack_export import ExportSent, export_to_person

__all__ = [
    "Break",
    "ExportCheck",
    "ExportSent",
    "Scope",
    "Stamp",
    "Verdict",
    "changes",
    "check_export",
    "export_to_person",
    "file_digest",
    "sidecar",
    "verify",
    "write_csv",
    "write_json",
]
