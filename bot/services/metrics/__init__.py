"""Delivery metrics (DORA) and the weekly digest. The names below are what other features may use (App Home's
summary); the modules are this package's own."""

from bot.services.metrics.delivery import summary

__all__ = ["summary"]
