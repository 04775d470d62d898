"""Approvals: approve, reject, withdraw (`approvals`)."""
