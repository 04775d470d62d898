"""Incidents: an error nobody expected is logged once, as ERROR with its traceback and a short id (`error_id`), and
the id is what the person or the pipeline is shown, so a report that quotes it finds that one record."""

import logging
import uuid


def new_id() -> str:
    return uuid.uuid4().hex[:8]


def record(logger: logging.Logger, error: BaseException, what: str, *args: object) -> str:
    """Log `error` under `what` (a %-format with `args`) with a new incident id; returns the id to show."""
    incident = new_id()
    logger.error(f"{what} (error id %s)", *args, incident, exc_info=error, extra={"error_id": incident})
    return incident
