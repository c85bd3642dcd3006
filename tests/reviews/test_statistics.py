"""stats:read: aggregate figures, small counts suppressed, only for clients with the scope."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Scope
from accounts.services import api_client_create
from applications.models import Application, Status
from tests.reviews.conftest import queued_cases
from tests.reviews.test_api import bearer

pytestmark = pytest.mark.django_db


@pytest.fixture
def caseload(queue, settings):
    settings.STATS_MIN_COUNT = 10
    cases = queued_cases(queue, 30)
    now = timezone.now()
    approved = [c.pk for c in cases[:12]]
    refused = [c.pk for c in cases[12:15]]  # 3: below the minimum
    Application.objects.filter(pk__in=approved).update(status=Status.APPROVED, decided_at=now)
    Application.objects.filter(pk__in=refused).update(status=Status.REFUSED, decided_at=now)
    Application.objects.filter(pk__in=[c.pk for c in cases[:5]]).update(nationality="KE")
    return cases


def test_the_figures_count_and_suppress_small_groups(client, caseload):
    auth = bearer(api_client_create(name="Ministry", scopes=[Scope.STATS_READ]).user)
    body = client.get("/api/v1/stats/", **auth).json()
    assert body["minimum_count"] == 10
    assert body["applications"]["approved"] == 12
    assert body["applications"]["refused"] is None  # 3 < 10
    assert body["applications"]["queued"] == 16  # 15 here and the screened `case`
    assert body["decided"] == 15
    assert body["approval_rate"] == 0.8
    assert body["processing_days"]["median"] is not None
    nationalities = {row["nationality"]: row for row in body["by_nationality"]}
    assert set(nationalities) == {"NG"}  # KE has 5 cases: left out
    assert nationalities["NG"]["submitted"] == 26
    assert nationalities["NG"]["refused"] is None


def test_the_figures_are_cached(client, caseload, queue, django_assert_max_num_queries):
    auth = bearer(api_client_create(name="Ministry", scopes=[Scope.STATS_READ]).user)
    first = client.get("/api/v1/stats/", **auth).json()
    queued_cases(queue, 10)
    with django_assert_max_num_queries(4):  # auth only: the figures come from Redis
        again = client.get("/api/v1/stats/", **auth).json()
    assert again == first


def test_statistics_need_the_scope(client, officer, caseload):
    assert client.get("/api/v1/stats/", **bearer(officer)).status_code == 403
    other = api_client_create(name="Border", scopes=[Scope.VISAS_VERIFY])
    assert client.get("/api/v1/stats/", **bearer(other.user)).status_code == 403
