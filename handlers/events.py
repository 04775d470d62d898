"""Events API callbacks."""

from slack_bolt.async_app import AsyncApp


def register(app: AsyncApp) -> None:
    """No events are handled yet; App Home and review replies register here."""
