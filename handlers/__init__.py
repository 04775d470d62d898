"""Slack surfaces. Each module has `register(app)`; importing registers nothing."""

from slack_bolt.async_app import AsyncApp

from bot.in_flight import InFlight
from handlers import actions, answering, commands, errors, events, guard, home, installs, views


def register_all(app: AsyncApp, in_flight: InFlight) -> None:
    guard.register(app)  # first: foreign workspaces and event redeliveries stop here
    app.use(answering.Admission(in_flight))  # then the cap: past it, "busy" and nothing changes
    errors.register(app)
    commands.register(app)
    home.register(app)  # before `actions`: its Home-only buttons must match first
    actions.register(app)
    views.register(app)
    events.register(app)
    installs.register(app)
