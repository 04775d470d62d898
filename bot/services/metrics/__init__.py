"""Delivery metrics (DORA) and the weekly digest. The names below are what other features may use (App Home's
summary, the web board's figures and chart); the modules are this package's own."""

from bot.services.metrics.delivery import Report, report, summary

__all__ = ["Report", "report", "summary"]
