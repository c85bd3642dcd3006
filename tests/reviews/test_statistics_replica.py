"""The read replica (kvisa/db.py): writes and ordinary reads stay on the primary; the
statistics and the policy simulator's reads go to the replica when one is configured, and to
the primary when none is."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.test.utils import CaptureQueriesContext

from applications.models import Application
from kvisa.db import REPLICA, PrimaryReplicaRouter, reporting_alias
from reviews.statistics import statistics_compute
from tests.reviews.conftest import queued_cases


def test_the_router_keeps_writes_migrations_and_plain_reads_on_the_primary():
    router = PrimaryReplicaRouter()
    assert router.db_for_write(Application) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Application) is None  # Django's default: the primary
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "applications")
    assert not router.allow_migrate(REPLICA, "applications")
    assert "kvisa.db.PrimaryReplicaRouter" in settings.DATABASE_ROUTERS


def test_without_a_replica_reports_read_the_primary():
    assert REPLICA not in settings.DATABASES
    assert reporting_alias() == DEFAULT_DB_ALIAS


@pytest.fixture
def replica(monkeypatch, settings):
    """A second connection to the test database under the replica's name, as
    DATABASE_REPLICA_URL would configure it (here it sees the same rows at once). Made by hand,
    and named apart, so Django's test case counts it as a connection the test made itself."""
    primary = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    monkeypatch.setitem(settings.DATABASES, REPLICA, primary)
    wrapper = load_backend(primary["ENGINE"]).DatabaseWrapper(primary, "replica-of-test")
    connections[REPLICA] = wrapper
    yield wrapper
    wrapper.close()
    del connections[REPLICA]


@pytest.mark.django_db(transaction=True)
def test_statistics_read_the_replica_and_nothing_of_them_the_primary(queue, replica, settings):
    settings.STATS_MIN_COUNT = 1
    queued_cases(queue, 3)
    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        figures = statistics_compute()
    assert reporting_alias() == REPLICA
    assert figures["applications"]["queued"] == 4  # the queue's first case and three more
    assert len(on_replica) >= 4  # by status, processing days, by field, by nationality
    assert len(on_primary) == 0


@pytest.mark.django_db(transaction=True)
def test_the_simulators_reads_go_to_the_replica(queue, replica):
    from screening import simulation

    with (
        CaptureQueriesContext(replica) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        ((first, last, count),) = simulation._chunk_bounds(100)
        rows = list(simulation._current_rows(first_id=first, last_id=last))
    assert count == len(rows) == 1  # the queue's case, screened
    assert len(on_replica) == 2
    assert len(on_primary) == 0
