"""Reminders: release events planned into jobs (`planning`), run when due (`runners`, `approval_digest`)."""
