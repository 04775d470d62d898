"""Events API callbacks."""

from slack_bolt.async_app import AsyncApp

from handlers import errors, review_surface


def register(app: AsyncApp) -> None:
    """App Home and review replies register here."""
    app.event("message")(errors.answered(review_surface.message_event))
