"""What a use case tells the person who asked for it."""

from dataclasses import dataclass

from bot.domain.message import Message
from storage.models import Release


@dataclass(frozen=True)
class Outcome:
    release: Release
    message: Message
    changed: bool = True  # False: nothing was changed (a double click, a repeated command)
