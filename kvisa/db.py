"""Which database a query goes to: the primary, or a read replica for reads that may lag.

Everything reads and writes the primary (``default``) unless it names the replica: a case an
officer has just decided must read back as decided, which a replica seconds behind does not
promise. Reads that aggregate the whole caseload and may be seconds old — the statistics and
the policy simulator — ask for ``reporting_alias()``, which is the replica when
``DATABASE_REPLICA_URL`` configures one (settings.py) and the primary otherwise. See
docs/scaling.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"


def reporting_alias() -> str:
    """The database for whole-caseload reads that may lag: the replica if there is one."""
    return REPLICA if REPLICA in settings.DATABASES else DEFAULT_DB_ALIAS


class PrimaryReplicaRouter:
    """Writes and ordinary reads on the primary; the replica only when asked for by name."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return None  # the primary, unless a query says .using(reporting_alias())

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the replica holds the same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica follows the primary by streaming
