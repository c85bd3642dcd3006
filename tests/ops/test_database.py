"""The database connection as configured in kvisa/settings.py: persistent, with server-side
parameters, and preparing the statements it runs again and again."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import User

pytestmark = pytest.mark.django_db


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


def test_a_statement_run_again_and_again_is_prepared_once_on_the_connection():
    for pk in range(7):  # psycopg prepares a statement on its fifth run
        list(User.objects.filter(pk=pk, is_active=True))
    mine = [s for s in _prepared() if '"accounts_user"' in s and '"is_active"' in s]
    assert len(mine) == 1, mine  # one statement, whatever the parameters
    assert "$1" in mine[0]  # the values are parameters, bound by the server


def test_a_statement_run_once_is_not_prepared():
    list(User.objects.filter(full_name="once", is_staff=True))
    assert not [s for s in _prepared() if '"full_name"' in s and '"is_staff"' in s]


def test_the_connection_is_kept_between_requests(settings):
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert settings.DATABASES["default"]["OPTIONS"]["server_side_binding"] is True


# An index another index's leading columns already serve: a pair found here costs every write
# of the table for nothing (issue 7). Unique indexes enforce something and partial ones serve
# their own predicate, so only plain, whole-table btree indexes are compared.
_PLAIN_INDEXES = """
SELECT t.relname, i.relname, array_agg(a.attname ORDER BY k.ordinality)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
JOIN pg_am am ON am.oid = i.relam AND am.amname = 'btree'
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ordinality)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE NOT x.indisunique AND x.indpred IS NULL AND x.indexprs IS NULL
GROUP BY t.relname, i.relname
"""


def _covered_pairs(indexes):
    by_table = {}
    for table, index, columns in indexes:
        by_table.setdefault(table, []).append((index, list(columns)))
    return sorted(
        (table, narrow, wide)
        for table, found in by_table.items()
        for narrow, narrow_columns in found
        for wide, wide_columns in found
        if narrow != wide
        and len(narrow_columns) < len(wide_columns)
        and wide_columns[: len(narrow_columns)] == narrow_columns
        # a LIKE twin (varchar_pattern_ops) reads the same columns but serves prefixes
        and not narrow.endswith("_like")
    )


@pytest.mark.django_db
def test_no_index_is_served_already_by_another_ones_leading_columns():
    with connection.cursor() as cursor:
        cursor.execute(_PLAIN_INDEXES)
        indexes = cursor.fetchall()
    assert any(table == "applications_timelineevent" for table, _, _ in indexes)
    assert _covered_pairs(indexes) == []


def test_the_covered_index_check_finds_a_prefix_pair():
    found = [
        ("t", "t_a", ["a"]),
        ("t", "t_a_b", ["a", "b"]),
        ("t", "t_b", ["b"]),
        ("u", "u_a", ["a"]),
    ]
    assert _covered_pairs(found) == [("t", "t_a", "t_a_b")]
