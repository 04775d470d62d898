"""Answers for the review commands (filled in by their feature)."""

from typing import Any

ROUTES: dict[type, Any] = {}
