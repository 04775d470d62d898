"""Delivery metrics (DORA) and the weekly digest."""
