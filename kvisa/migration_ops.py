"""Migration operations for tables already large in production.

Django's AlterField drops a field's index in the migration's transaction, and drops and
re-validates the field's foreign key on the way: at millions of rows, a lock that stops claims
and submissions while it works. ``indexes_dropped`` records the field change in the migration
state only and drops each index CONCURRENTLY (the migration must set ``atomic = False``);
going back rebuilds each, CONCURRENTLY too.
"""

from __future__ import annotations

from django.db import migrations
from django.db.migrations.operations.base import Operation


def indexes_dropped(
    state_operations: list[Operation], indexes: list[tuple[str, str]]
) -> migrations.SeparateDatabaseAndState:
    """``state_operations`` (the AlterFields makemigrations wrote) for the state, and for the
    database a DROP INDEX CONCURRENTLY of each (name, "table (columns)") in ``indexes``."""
    return migrations.SeparateDatabaseAndState(
        state_operations=state_operations,
        database_operations=[
            migrations.RunSQL(
                f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
                reverse_sql=f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}",
            )
            for name, definition in indexes
        ],
    )
