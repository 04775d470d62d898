"""Events API callbacks."""

from slack_bolt.async_app import AsyncApp

from handlers import review_surface


def register(app: AsyncApp) -> None:
    """App Home and review replies register here."""
    app.event("message")(review_surface.message_event)
