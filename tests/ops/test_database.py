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
