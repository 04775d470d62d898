"""Post-release reviews and their action items."""
