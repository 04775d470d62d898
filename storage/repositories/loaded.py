"""ORM objects built from the rows a core statement returned, as a query's load builds them: no pydantic
construction, no attribute history, nothing for a unit of work to write. For the hot writes whose statement returns
the row it wrote (`INSERT … RETURNING`, a claim's `UPDATE … RETURNING`), where reading it again through the ORM
would cost more than the statement."""

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.orm import ClassManager, configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class

T = TypeVar("T")


def loaded(model: type[T], row: Mapping[Any, Any]) -> T:
    """An instance of `model` holding `row` (every column, the primary key included), detached as if its session
    had closed: `session.add` makes it persistent without writing it."""
    instance: T = _manager(model).new_instance()
    instance.__dict__.update(row)
    make_transient_to_detached(instance)
    return instance


_MANAGERS: dict[type[Any], ClassManager[Any]] = {}


def _manager(model: type[Any]) -> ClassManager[Any]:
    manager = _MANAGERS.get(model)
    if manager is None:
        configure_mappers()  # an attribute's loader is set up with its mapper: a load needs them ready
        manager = _MANAGERS[model] = manager_of_class(model)
    return manager
