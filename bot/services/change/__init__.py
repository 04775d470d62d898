"""Change management: freezes, deploy locks and their queues, planned windows and their conflicts, the calendar
and its feed, subscriptions. The names below are what other features may use (the deployment gates ask which
freezes and locks hold; App Home shows the agenda); the modules are this package's own."""

from bot.services.change.agenda import Agenda, agenda_in
from bot.services.change.freeze_lookup import active_freezes
from bot.services.change.locks import active_locks, record_bypass

__all__ = ["Agenda", "active_freezes", "active_locks", "agenda_in", "record_bypass"]
