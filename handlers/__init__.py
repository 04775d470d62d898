"""Slack surfaces. Each module has `register(app)`; importing registers nothing."""

from slack_bolt.async_app import AsyncApp

from handlers import actions, commands, errors, events, guard, home, views


def register_all(app: AsyncApp) -> None:
    guard.register(app)  # first: foreign workspaces and event redeliveries stop here
    errors.register(app)
    commands.register(app)
    home.register(app)  # before `actions`: its Home-only buttons must match first
    actions.register(app)
    views.register(app)
    events.register(app)
