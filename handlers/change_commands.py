"""Answers for the change commands (filled in by their feature)."""

from typing import Any

ROUTES: dict[type, Any] = {}
