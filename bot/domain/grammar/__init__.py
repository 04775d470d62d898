"""The `/release` command grammar: text in, one typed command out, or an error that shows the usage.

Each subcommand is one registration, `@verb(name, usage, examples=(…))` on its parser, beside its command in its
feature's module (`releases`, `approvals`, `deploys`, `change`, `locks`, `metrics`, `reviews`); help, the usage
shown with an error and the tests all read `VERBS`. A parser gets the text after the verb and raises `Problem` for
a wrong shape (the usage line is added by `parse`) or a `DomainError` of its own (a bad version, say) that stands
by itself.
"""

from bot.domain.grammar.arguments import Problem
from bot.domain.grammar.registry import VERBS, Command, UsageError, Verb, parse, verb

# Loading the features registers their verbs; help lists them in this order (README's), so it is not sorted.
from bot.domain.grammar import releases, approvals, deploys, change, locks, metrics, reviews  # isort: skip

__all__ = [
    "VERBS",
    "Command",
    "Problem",
    "UsageError",
    "Verb",
    "approvals",
    "change",
    "deploys",
    "locks",
    "metrics",
    "parse",
    "releases",
    "reviews",
    "verb",
]
