"""The benchmarks' seeder (bench/seed.py) and baseline routes (bench/urls.py).

Benchmarks are not tests; this only holds the seeder to the distribution the benchmark
figures rely on, at a small N, and checks the baselines answer.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django_countries import countries

from applications.models import Application, Degree, Status, TimelineEvent
from applications.reference import parse_reference
from bench import seed
from bench.baselines import tables_create
from bench.models import BenchDocument
from policy.engine import Facts
from policy.models import ReviewQueue, StemField
from screening.models import QueueEntry, Screening

N = 2000


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker):
    """Seeded once for the module (a few seconds), inside a transaction rolled back at its end;
    each test runs in a savepoint of it."""
    with django_db_blocker.unblock(), transaction.atomic():
        holders = seed.users("officer", 20, officer=True)
        seed.join_queues(holders)
        done = seed.seed(N, holders=holders, analyze=False)
        assert done["added"] == N
        yield
        transaction.set_rollback(True)


@pytest.fixture
def seeded(_seeded_once, db):
    return None


def test_seeder_covers_every_status_queue_field_and_nationality(seeded):
    statuses = set(Application.objects.values_list("status", flat=True).distinct())
    assert statuses == {s for s, _share in seed.STATUS_MIX} | {Status.IN_REVIEW}
    queued = set(QueueEntry.objects.values_list("queue__code", flat=True).distinct())
    assert queued == {code for code, _share in seed.QUEUE_MIX}
    states = set(QueueEntry.objects.values_list("state", flat=True).distinct())
    assert states == {"waiting", "in_review", "paused", "done"}
    fields = set(Degree.objects.values_list("field_id", flat=True).distinct())
    assert fields == set(StemField.objects.values_list("pk", flat=True))
    nationalities = set(Application.objects.values_list("nationality", flat=True).distinct())
    assert nationalities == {code for code, _weight in seed.NATIONALITIES}
    assert all(countries.name(code) for code in nationalities)
    assert Application.objects.count() == N


def test_every_routed_case_has_its_current_screening_and_timeline(seeded):
    routed = set(QueueEntry.objects.values_list("application_id", flat=True))
    current = Screening.objects.filter(is_current=True).values_list("application_id", flat=True)
    assert sorted(current) == sorted(routed)
    unscreened = Application.objects.filter(status=Status.SUBMITTED)
    assert unscreened.exists()
    assert not Screening.objects.filter(application__in=unscreened).exists()
    for screening in Screening.objects.filter(is_current=True).select_related("queue")[:300]:
        Facts.from_json(screening.facts)  # what the simulator reads
        rules = screening.evaluation["rules"]
        assert rules
        assert all(set(r["explanation"]) == {"en", "zh-hans"} for r in rules)
        assert screening.routed_at
        assert screening.routing["queue"] == screening.queue.code
        assert (screening.points, screening.eligible) == (
            screening.evaluation["points"],
            screening.evaluation["eligible"],
        )
    screened = TimelineEvent.objects.filter(kind="screened").count()
    assert screened == len(routed)
    # an application's answers agree with its screening's facts
    application = Application.objects.filter(pk__in=routed).first()
    facts = application.screenings.get(is_current=True).facts
    assert application.snapshot["personal"]["date_of_birth"] == facts["date_of_birth"]
    assert application.degrees.count() == len(facts["degrees"])


def test_references_carry_valid_check_digits(seeded):
    references = list(
        Application.objects.exclude(reference=None).values_list("reference", flat=True)
    )
    assert len(references) == Application.objects.exclude(status=Status.DRAFT).count()
    for reference in references:
        parse_reference(reference)  # raises on a wrong check digit


def test_fast_track_and_integrity_queues_hold_matching_screenings(seeded):
    fast = ReviewQueue.objects.get(code="fast-track")
    in_fast_track = Screening.objects.filter(application__queue_entry__queue=fast)
    assert in_fast_track.exists()
    assert not in_fast_track.filter(fast_track=False).exists()
    assert seed.pipeline_ids(N) == sorted(
        Application.objects.filter(status=Status.SUBMITTED).values_list("pk", flat=True)
    )


def test_the_baseline_urlconf_serves_its_routes_and_the_project(seeded, settings):
    settings.ROOT_URLCONF = "bench.urls"
    settings.API_RATES = {"user": "100000/minute", "anon": "100000/minute", "visas": "100/minute"}
    tables_create()
    tokens = seed.tokens_issue()
    client = Client()
    reference = (
        QueueEntry.objects.filter(state="waiting").values_list("application__reference", flat=True)
    ).first()

    assert client.get("/bench/hello/").status_code == 200
    page = client.get("/bench/cases/", {"queue": "standard", "status": "queued"})
    assert page.status_code == 200
    assert 0 < len(page.json()["results"]) <= 50
    detail = client.get(f"/bench/cases/{reference}/")
    assert detail.status_code == 200
    assert detail.json()["screening"]["evaluation"]["rules"]
    created = client.post(
        "/bench/documents/",
        {"applicant_email": "a@example.org"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens['client']}"},
    )
    assert created.status_code == 201
    stored = BenchDocument.objects.get(pk=created.json()["id"])
    assert stored.body == {"applicant_email": "a@example.org"}
    api = client.get(
        "/api/v1/cases/",
        {"queue": "standard", "status": "queued"},
        headers={"Authorization": f"Bearer {tokens['officers'][0]}"},
    )
    assert api.status_code == 200
    assert [r["reference"] for r in api.json()["results"]] == [
        r["reference"] for r in page.json()["results"]
    ]
