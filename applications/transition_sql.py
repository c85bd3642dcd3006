"""``application_transition`` written out as SQL, for the hot paths that change a case's status
inside one statement of data-modifying CTEs (issue 7): claim next and release
(reviews/claiming.py), routing after screening (screening/routing.py).

The same status table decides (TRANSITIONS: which statuses may become the new one), the same
two columns are written (status, updated_at), the same timeline rows are recorded. The tests
of each caller hold the rows written equal to the ORM path's.
"""

from __future__ import annotations

from applications.models import TRANSITIONS, Application, TimelineEvent
from kvisa.rows import columns, table


def may_become(to: str) -> list[str]:
    """The statuses TRANSITIONS lets become ``to``: the %(from)s of ``transition_ctes``."""
    return sorted(status for status, allowed in TRANSITIONS.items() if to in allowed)


def transition_ctes(source: str, events: str, *, events_from: str = "") -> str:
    """The CTEs "moved" and "recorded": the application of ``source`` (a CTE with its
    application_id and status, locked) moves to %(to)s if TRANSITIONS allows it from its
    status (%(from)s, see ``may_become``), and the timeline rows ``events`` (a VALUES list of
    n, kind, from_status, to_status, message, public, data, over ``events_from``, by default
    the source) are written for it by %(actor)s, all at the one time %(now)s. "moved" returns
    every column of the application as written."""
    application = columns(Application, "a")
    return f"""
        moved AS (
            UPDATE {table(Application)} AS a SET status = %(to)s, updated_at = %(now)s
            FROM {source}
            WHERE a.id = {source}.application_id AND {source}.status = ANY(%(from)s)
            RETURNING {", ".join(application.sql)}
        ), recorded AS (
            INSERT INTO {table(TimelineEvent)}
                (application_id, at, actor_id, kind, from_status, to_status, message, public, data)
            SELECT moved.id, %(now)s, %(actor)s, v.kind, v.from_status, v.to_status, v.message,
                   v.public, v.data
            FROM moved CROSS JOIN {events_from or source}
            CROSS JOIN LATERAL (VALUES {events}) AS
                v(n, kind, from_status, to_status, message, public, data)
            ORDER BY v.n
        )"""  # noqa: S608 - names from the models' metadata, values parameters
