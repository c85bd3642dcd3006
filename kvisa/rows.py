"""Model instances from hand-written SQL, for the few hot paths where building the ORM's query
on every call costs more than running it (issue 7): the bearer-token check, claim next.

A statement written once a process names a model's columns with ``Columns.sql`` (in the
model's field order) and turns each returned slice back into an instance with
``Columns.instance``, through the same database converters the ORM applies (decryption,
JSON, time zones), so the instance equals what a queryset would have given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.db import connection
from django.db.models import Model


@dataclass(frozen=True)
class Columns:
    model: type[Model]
    names: list[str]  # attnames, as Model.from_db takes them
    sql: list[str]  # alias."column", in the same order
    converters: list[tuple[int, list[Any], Any]]  # (position, converters, field)

    def __len__(self) -> int:
        return len(self.names)

    def instance(self, values: list[Any] | tuple[Any, ...]) -> Any:
        """The model instance of one row's slice of values, as the ORM would load it."""
        values = list(values)
        for i, convs, field in self.converters:
            for convert in convs:
                values[i] = convert(values[i], field, connection)
        return self.model.from_db(connection.alias, self.names, values)


def columns(model: type[Model], alias: str) -> Columns:
    """Every concrete column of ``model`` under the table alias ``alias``."""
    fields = list(model._meta.concrete_fields)
    quote = connection.ops.quote_name
    return Columns(
        model=model,
        names=[f.attname for f in fields],
        sql=[f"{alias}.{quote(str(f.column))}" for f in fields],
        converters=[
            (i, convs, f)
            for i, f in enumerate(fields)
            if (
                convs := f.get_db_converters(connection)
                + connection.ops.get_db_converters(f.get_col(alias))
            )
        ],
    )


def table(model: type[Model]) -> str:
    """The model's table name, quoted."""
    return connection.ops.quote_name(model._meta.db_table)


def literal(choice: Enum) -> str:
    """A model choice's value as an SQL string literal, for a statement that must name it
    rather than send it: a prepared statement's generic plan matches a partial index's
    predicate (``state = 'waiting'``) only against a literal. For our own choice values only,
    never for input."""
    value = str(choice.value)
    assert "'" not in value
    return f"'{value}'"


def one_row(sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row ``sql`` returns, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
