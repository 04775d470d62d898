"""The models' core tables, typed, and plain-row selects: for statements that read rows rather than ORM objects
(no object to build per row) and for the statements built once at import."""

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Select, Table, select
from sqlmodel import SQLModel

from storage.models.delivery import ScheduledJob
from storage.models.health import Alert
from storage.models.releases import Approval, Deployment, Release


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # SQLModel does not type its table


def select_fields(table: Table, fields: Iterable[str]) -> Select[Any]:
    """`SELECT <fields>` of `table`, in that order: pass a NamedTuple's `_fields` and build rows with `Row(*row)`."""
    return select(*[table.c[name] for name in fields])


RELEASES = table_of(Release)
APPROVALS = table_of(Approval)
DEPLOYMENTS = table_of(Deployment)
SCHEDULED_JOBS = table_of(ScheduledJob)
ALERTS = table_of(Alert)
