"""Change management: freezes, planned windows and their conflicts, the calendar and its feed, subscriptions. The
names below are what other features may use (the deployment gates ask which freezes hold; App Home shows the
agenda); the modules are this package's own."""

from bot.services.change.agenda import Agenda, agenda_in
from bot.services.change.freeze_lookup import active_freezes

__all__ = ["Agenda", "active_freezes", "agenda_in"]
