"""Policy simulation: exact counts against a draft, idempotent chunks, pages, a real worker."""

from __future__ import annotations

import copy
import itertools
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.models import Application, Status
from kvisa.errors import Conflict
from policy.engine import DegreeFact, Facts, evaluate
from policy.models import Institution, PolicyVersion, ReviewQueue, StemField
from policy.selectors import engine_lists, policy_in_force
from screening import services, simulation
from screening.models import PolicySimulation, Screening, SimulationChunk
from tests.factories import ApplicantFactory, OfficerFactory, SupervisorFactory, login_with_mfa
from tests.processes import wait_until

REFERENCE_DAY = date(2026, 1, 15)
_numbers = itertools.count(1)


def born(age: int) -> date:
    """A birthday in June, so the age on REFERENCE_DAY is exactly `age`."""
    return date(REFERENCE_DAY.year - age - 1, 6, 1)


def institution(tier: int) -> int:
    return Institution.objects.filter(tier=tier, is_active=True).order_by("pk").first().pk


def field(code: str) -> int:
    return StemField.objects.get(code=code).pk


def screened(
    *,
    nationality: str,
    expect: tuple[bool, bool, str],
    flags: tuple[str, ...] = (),
    **facts: Any,
) -> Screening:
    """An application with a current screening whose baseline the published policy gives.

    `expect` is (eligible, fast track, queue) under the policy in force, checked against the
    engine so the test's premises cannot drift from the rules.
    """
    policy = policy_in_force()
    built = Facts(reference_date=REFERENCE_DAY, **facts)
    result = evaluate(
        facts=built,
        criteria=policy.criteria,
        points_model=policy.points_model,
        lists=engine_lists(),
        explain=False,
    )
    n = next(_numbers)
    application = Application.objects.create(
        applicant=ApplicantFactory(),
        status=Status.QUEUED,
        reference=f"KV-TEST-{n:07d}",
        policy_version=policy,
        path=built.path,
        nationality=nationality,
        snapshot={},
        submitted_at=timezone.now(),
    )
    eligible, fast_track, queue = expect
    assert (result.eligible, result.fast_track) == (eligible, fast_track), result.points
    return Screening.objects.create(
        application=application,
        policy_version=policy,
        facts=built.to_json(),
        eligible=result.eligible,
        points=result.points,
        fast_track=result.fast_track,
        complete=True,
        flags=[{"code": code} for code in flags],
        queue=ReviewQueue.objects.get(code=queue),
    )


def graduate(age: int, level: str, field_code: str, tier: int, **more: Any) -> dict[str, Any]:
    return {
        "path": "graduate",
        "date_of_birth": born(age),
        "degrees": (
            DegreeFact(level="bachelor", field_id=field("biology"), institution_id=None),
            DegreeFact(level=level, field_id=field(field_code), institution_id=institution(tier)),
        ),
        **more,
    }


def build_cases() -> dict[str, Screening]:
    """Eight evaluated cases (plus one not yet evaluated and one old, non-current result).

    Published: age 18 to 45, fast track from 60 points. The draft (see `draft_version`) lowers the
    maximum age to 35 and the fast-track threshold to 50.
    """
    cases = {
        # 20 + 13 + 15 + 10 = 58: standard; 40 > 35 under the draft → ineligible, standard
        "a": screened(
            nationality="NG",
            expect=(True, False, "standard"),
            **graduate(40, "doctorate", "computer-science", 1, years_experience=10),
        ),
        # 15 + 5 + 15 + 6 = 41: standard under both
        "b": screened(
            nationality="IN",
            expect=(True, False, "standard"),
            **graduate(30, "master", "physics", 2, years_experience=2),
        ),
        # 20 + 8 + 15 + 10 = 53: standard now, fast track from 50
        "c": screened(
            nationality="NG",
            expect=(True, False, "standard"),
            **graduate(30, "doctorate", "computer-science", 1, years_experience=5),
        ),
        # 70 points: fast track under both
        "d": screened(
            nationality="BR",
            expect=(True, True, "fast-track"),
            **graduate(28, "doctorate", "physics", 1, years_experience=12, hsk_level=5),
            publications=5,
        ),
        # 65 points, fast track now; 38 > 35 → ineligible, standard
        "e": screened(
            nationality="IN",
            expect=(True, True, "fast-track"),
            **graduate(38, "doctorate", "computer-science", 1, years_experience=12),
            publications=5,
        ),
        # too old under both
        "f": screened(
            nationality="NG",
            expect=(False, False, "standard"),
            **graduate(50, "doctorate", "chemistry", 1, years_experience=12),
        ),
        # an integrity flag keeps it in the integrity queue, though it becomes ineligible
        "g": screened(
            nationality="BR",
            expect=(True, False, "integrity"),
            flags=("duplicate_passport",),
            **graduate(40, "master", "mathematics", 2, years_experience=4),
        ),
        # a researcher: the post's field counts; 0 + 13 + 15 + 6 = 34, standard under both
        "h": screened(
            nationality="IN",
            expect=(True, False, "standard"),
            path="researcher",
            date_of_birth=born(33),
            post_is_stem=True,
            post_field_id=field("physics"),
            post_institution_id=institution(2),
            years_experience=10,
        ),
    }
    # history: an earlier result of case a is not current and is not simulated
    old = Screening.objects.get(pk=cases["a"].pk)
    old.pk = None
    old.is_current = False
    old.save()
    # a screening that has not reached the eligibility step yet is skipped, not evaluated
    application = Application.objects.create(
        applicant=ApplicantFactory(),
        status=Status.SUBMITTED,
        reference="KV-TEST-UNSCREENED",
        nationality="NG",
        snapshot={},
        submitted_at=timezone.now(),
    )
    Screening.objects.create(application=application, policy_version=policy_in_force())
    return cases


def draft_version(**changes: Any) -> PolicyVersion:
    published = policy_in_force()
    criteria = copy.deepcopy(published.criteria)
    points_model = copy.deepcopy(published.points_model)
    criteria["age"]["max"] = 35
    points_model["fast_track_threshold"] = 50
    fields: dict[str, Any] = {
        "name": f"2026 draft {next(_numbers)}",
        "criteria": criteria,
        "points_model": points_model,
        "document_checklist": published.document_checklist,
        "visa_terms": published.visa_terms,
        "routing_rules": published.routing_rules,
        **changes,
    }
    return PolicyVersion.objects.create(status=PolicyVersion.Status.DRAFT, **fields)


def start(version: PolicyVersion) -> PolicySimulation:
    return PolicySimulation.objects.create(version=version, requested_by=SupervisorFactory())


def run_all(sim: PolicySimulation) -> PolicySimulation:
    for chunk_id in simulation.simulation_plan(simulation_id=sim.pk):
        simulation.simulation_chunk_run(chunk_id=chunk_id)
    sim.refresh_from_db()
    return sim


COUNTS = (
    "evaluated",
    "newly_eligible",
    "newly_ineligible",
    "newly_fast_track",
    "no_longer_fast_track",
    "queue_changed",
    "unchanged",
)


def counts(*values: int) -> dict[str, int]:
    return dict(zip(COUNTS, values, strict=True))


@pytest.fixture
def pipeline_case(submitted) -> Screening:
    """One case screened by the real pipeline (age 30, master's, 44 points: standard)."""
    screening = services.screening_run(application_id=submitted.pk)
    assert screening is not None
    assert (screening.eligible, screening.fast_track, screening.queue.code) == (
        True,
        False,
        "standard",
    )
    return screening


@pytest.fixture
def cases(db) -> dict[str, Screening]:
    return build_cases()


@pytest.fixture
def small_chunks(settings):
    settings.SIMULATION_CHUNK_SIZE = 3


# --- The counts -------------------------------------------------------------------------------


def test_simulation_counts_every_change_exactly(cases, pipeline_case, small_chunks):
    sim = start(draft_version())

    sim = run_all(sim)

    assert sim.state == PolicySimulation.State.DONE
    assert sim.finished_at is not None
    # 8 built cases + the pipeline's + the unscreened one; the history row is left out
    assert (sim.total, sim.processed) == (10, 10)
    assert (sim.chunks_total, sim.chunks_done) == (4, 4)
    results = sim.results
    # evaluated, newly eligible, newly ineligible (a, e, g), newly fast track (c),
    # no longer fast track (e), another queue (c, e), unchanged (b, d, f, h, pipeline)
    assert results["totals"] == {**counts(9, 0, 3, 1, 1, 2, 5), "skipped": 1}
    assert results["transitions"] == {"standard→fast-track": 1, "fast-track→standard": 1}
    assert results["queues"] == {
        "before": {"standard": 6, "fast-track": 2, "integrity": 1},
        "after": {"standard": 6, "fast-track": 2, "integrity": 1},
    }
    assert results["by_nationality"] == {
        "NG": counts(4, 0, 1, 1, 0, 1, 2),  # a, c, f, pipeline
        "IN": counts(3, 0, 1, 0, 1, 1, 2),  # b, e, h
        "BR": counts(2, 0, 1, 0, 0, 0, 1),  # d, g
    }
    assert results["by_field"] == {
        "computer-science": counts(4, 0, 2, 1, 1, 2, 1),  # a, c, e, pipeline (highest degree)
        "physics": counts(3, 0, 0, 0, 0, 0, 3),  # b, d and the researcher h (post field)
        "chemistry": counts(1, 0, 0, 0, 0, 0, 1),
        "mathematics": counts(1, 0, 1, 0, 0, 0, 0),
    }
    # the chunk results add up to the merged result
    assert sum(c.results["totals"]["evaluated"] for c in sim.chunks.all()) == 9


def test_a_looser_draft_counts_newly_eligible_cases(cases, small_chunks):
    draft = draft_version()
    draft.criteria["age"]["max"] = 55
    draft.points_model["fast_track_threshold"] = 60
    draft.save()

    sim = run_all(start(draft))

    assert sim.results["totals"] == {**counts(8, 1, 0, 0, 0, 0, 7), "skipped": 1}
    assert sim.results["by_nationality"]["NG"]["newly_eligible"] == 1  # f, aged 50
    assert sim.results["transitions"] == {}


def test_a_draft_routing_to_a_missing_queue_falls_back_as_the_pipeline_does(cases, settings):
    rules = [
        {"when": "fast_track", "queue": "no-such-queue"},
        {"when": "always", "queue": "standard"},
    ]
    sim = run_all(start(draft_version(routing_rules=rules)))

    # c becomes fast track, but that queue does not exist: standard, as routing would do;
    # the flagged case g leaves the integrity queue since this draft has no integrity rule
    assert sim.results["transitions"] == {"fast-track→standard": 2, "integrity→standard": 1}


# --- Idempotency and failures -------------------------------------------------------------------


def test_plan_and_chunks_are_idempotent(cases, small_chunks):
    sim = start(draft_version())
    chunk_ids = simulation.simulation_plan(simulation_id=sim.pk)
    assert len(chunk_ids) == 3  # 9 current screenings in chunks of 3
    assert simulation.simulation_plan(simulation_id=sim.pk) == chunk_ids
    assert SimulationChunk.objects.filter(simulation=sim).count() == 3

    simulation.simulation_chunk_run(chunk_id=chunk_ids[0])
    simulation.simulation_chunk_run(chunk_id=chunk_ids[0])  # a redelivered task

    sim.refresh_from_db()
    assert (sim.processed, sim.chunks_done, sim.state) == (3, 1, PolicySimulation.State.RUNNING)
    # a redelivered start task re-enqueues only what is left
    assert simulation.simulation_plan(simulation_id=sim.pk) == chunk_ids[1:]
    for chunk_id in chunk_ids:
        simulation.simulation_chunk_run(chunk_id=chunk_id)
    sim.refresh_from_db()
    assert (sim.processed, sim.chunks_done, sim.state) == (9, 3, PolicySimulation.State.DONE)
    assert sim.results["totals"]["newly_ineligible"] == 3
    assert simulation.simulation_plan(simulation_id=sim.pk) == []


def test_chunks_cover_the_current_screenings_exactly_once(cases, small_chunks):
    sim = start(draft_version())
    simulation.simulation_plan(simulation_id=sim.pk)

    chunks = list(SimulationChunk.objects.filter(simulation=sim).order_by("first_id"))
    current = list(
        Screening.objects.filter(is_current=True).order_by("pk").values_list("pk", flat=True)
    )
    covered = [pk for c in chunks for pk in current if c.first_id <= pk <= c.last_id]
    assert covered == current
    assert all(a.last_id < b.first_id for a, b in itertools.pairwise(chunks))


def test_nothing_screened_finishes_at_once(db):
    sim = run_all(start(draft_version()))

    assert sim.state == PolicySimulation.State.DONE
    assert (sim.total, sim.chunks_total) == (0, 0)
    assert sim.results["totals"]["evaluated"] == 0


def test_a_broken_draft_fails_the_simulation_with_the_error(cases, small_chunks):
    draft = draft_version()
    draft.criteria = {"min_degree_level": "bachelor"}  # no age range
    draft.save()

    sim = run_all(start(draft))

    assert sim.state == PolicySimulation.State.FAILED
    assert "KeyError" in sim.error
    assert sim.finished_at is not None
    assert sim.chunks_done == 0


# --- Starting a simulation ----------------------------------------------------------------


def test_create_starts_the_task_after_commit(db, django_capture_on_commit_callbacks):
    supervisor = SupervisorFactory()
    draft = draft_version()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sim = simulation.simulation_create(version=draft, actor=supervisor)

    assert (sim.state, sim.version, sim.requested_by) == ("pending", draft, supervisor)
    assert len(callbacks) == 1


def test_a_published_version_cannot_be_simulated(db):
    with pytest.raises(Conflict):
        simulation.simulation_create(version=policy_in_force(), actor=SupervisorFactory())
    assert not PolicySimulation.objects.exists()


def test_a_version_published_before_the_start_fails_the_simulation(cases):
    draft = draft_version()
    sim = start(draft)
    PolicyVersion.objects.filter(pk=draft.pk).update(status=PolicyVersion.Status.RETIRED)

    sim = run_all(sim)

    assert sim.state == PolicySimulation.State.FAILED
    assert "no longer a draft" in sim.error


# --- Pages ------------------------------------------------------------------------------------


def list_url() -> str:
    return reverse("screening:simulation_list")


def detail_url(sim: PolicySimulation) -> str:
    return reverse("screening:simulation_detail", kwargs={"public_id": sim.public_id})


@pytest.fixture
def finished(cases, small_chunks) -> PolicySimulation:
    return run_all(start(draft_version()))


@pytest.mark.parametrize("page", ["list", "detail"])
def test_pages_are_for_supervisors_only(client, finished, page):
    url = list_url() if page == "list" else detail_url(finished)

    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))

    for user in (ApplicantFactory(), OfficerFactory()):
        if user.is_officer:
            login_with_mfa(client, user)
        else:
            client.force_login(user)
        assert client.get(url).status_code == 404
        client.logout()

    login_with_mfa(client, SupervisorFactory())
    assert client.get(url).status_code == 200


def test_officers_cannot_start_a_simulation(client, db):
    login_with_mfa(client, OfficerFactory())

    response = client.post(list_url(), {"version": draft_version().pk})

    assert response.status_code == 404
    assert not PolicySimulation.objects.exists()


def test_the_list_offers_drafts_only_and_starts_one(client, db, django_capture_on_commit_callbacks):
    draft = draft_version()
    supervisor = SupervisorFactory()
    login_with_mfa(client, supervisor)

    page = client.get(list_url()).content.decode()
    assert f'<option value="{draft.pk}"' in page
    assert f'<option value="{policy_in_force().pk}"' not in page

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(list_url(), {"version": draft.pk})

    sim = PolicySimulation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(sim)
    assert (sim.version, sim.requested_by) == (draft, supervisor)
    assert len(callbacks) == 1


def test_the_list_refuses_a_published_version(client, db):
    draft_version()
    login_with_mfa(client, SupervisorFactory())

    response = client.post(list_url(), {"version": policy_in_force().pk})

    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert not PolicySimulation.objects.exists()


def test_the_list_needs_a_csrf_token(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_with_mfa(client, SupervisorFactory())

    response = client.post(list_url(), {"version": draft_version().pk})

    assert response.status_code == 403
    assert not PolicySimulation.objects.exists()


def test_list_page_query_count_does_not_grow_with_simulations(
    client, db, django_assert_num_queries
):
    supervisor = SupervisorFactory()
    for _ in range(5):
        start(draft_version())
    login_with_mfa(client, supervisor)

    # user (the session is in the cache), permissions (one query), TOTP, simulations with their
    # versions and requesters, drafts
    with django_assert_num_queries(5):
        response = client.get(list_url())

    assert response.status_code == 200
    assert len(response.context["simulations"]) == 5


def test_detail_page_shows_results_with_pinned_queries(client, finished, django_assert_num_queries):
    login_with_mfa(client, SupervisorFactory())

    # user, permissions (one query), TOTP, the simulation, queue names, field names
    with django_assert_num_queries(6):
        response = client.get(detail_url(finished))

    page = response.content.decode()
    assert response.status_code == 200
    assert '<progress id="simulation-progress" class="w-100" max="9" value="9">' in page
    for country in ("Nigeria", "Brazil", "India"):
        assert country in page
    assert "Computer science" in page
    assert "Fast track" in page  # queue names, not codes
    assert 'http-equiv="refresh"' not in page  # done: no refresh
    report = response.context["report"]
    assert report["totals"]["newly_ineligible"] == 3
    assert {(t["before"], t["after"], t["n"]) for t in report["transitions"]} == {
        ("Standard", "Fast track", 1),
        ("Fast track", "Standard", 1),
    }
    nigeria = next(r for r in report["by_nationality"] if r["label"] == "Nigeria")
    assert (nigeria["evaluated"], nigeria["newly_ineligible"]) == (3, 1)


def test_a_running_simulation_refreshes_itself(client, cases):
    sim = start(draft_version())
    simulation.simulation_plan(simulation_id=sim.pk)
    login_with_mfa(client, SupervisorFactory())

    page = client.get(detail_url(sim)).content.decode()

    assert '<meta http-equiv="refresh" content="3">' in page
    assert 'hx-trigger="every 3s"' in page
    assert 'max="9" value="0"' in page


def test_workspace_home_links_to_simulations_for_supervisors_only(client, db):
    login_with_mfa(client, OfficerFactory())
    assert list_url() not in client.get(reverse("reviews:home")).content.decode()
    client.logout()

    login_with_mfa(client, SupervisorFactory())
    assert list_url() in client.get(reverse("reviews:home")).content.decode()


# --- Through a real worker ----------------------------------------------------------------------


@pytest.fixture
def worker_chunk_size(monkeypatch):
    """Small chunks in the worker process too (it reads the setting from its environment).

    Listed before celery_worker_process in the test's arguments, so it is set up first.
    """
    monkeypatch.setenv("SIMULATION_CHUNK_SIZE", "2")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_simulation_runs_to_the_end_in_a_real_worker(worker_chunk_size, celery_worker_process):
    build_cases()
    draft = draft_version()

    sim = simulation.simulation_create(version=draft, actor=SupervisorFactory())

    def finished() -> PolicySimulation | None:
        sim.refresh_from_db()
        return sim if sim.state in ("done", "failed") else None

    wait_until(finished, timeout=60, what="the worker to finish the simulation")
    assert sim.state == PolicySimulation.State.DONE, sim.error
    assert (sim.total, sim.processed) == (9, 9)
    assert (sim.chunks_total, sim.chunks_done) == (5, 5)
    assert sim.results["totals"] == {**counts(8, 0, 3, 1, 1, 2, 4), "skipped": 1}
    assert sim.started_at is not None
    assert sim.finished_at - sim.started_at < timedelta(seconds=60)


# --- Shared facts -------------------------------------------------------------------------------


def test_cases_sharing_their_facts_are_each_counted_with_their_own_flags_and_country(
    cases, small_chunks
):
    """Facts are decided once per distinct value and identical rows once: the counts must
    still be those of every case on its own (its flags, completeness and country)."""
    twin = cases["e"]  # 38, 65 points: fast track now; ineligible under the draft
    for nationality, flags, complete in [
        ("IN", [], True),  # the very same row as e
        ("IN", [], True),
        ("BR", [], True),  # another country
        ("IN", [{"code": "duplicate_passport"}], True),  # flagged: integrity under both
        ("NG", [], False),  # incomplete: the same queue as the published rules give
    ]:
        copy_of = Screening.objects.get(pk=twin.pk)
        copy_of.pk = None
        copy_of.application = Application.objects.create(
            applicant=ApplicantFactory(),
            status=Status.QUEUED,
            reference=f"KV-TEST-{next(_numbers):07d}",
            policy_version=twin.policy_version,
            path="graduate",
            nationality=nationality,
            snapshot={},
            submitted_at=timezone.now(),
        )
        copy_of.flags = flags
        copy_of.complete = complete
        copy_of.queue = ReviewQueue.objects.get(code="integrity" if flags else "fast-track")
        copy_of.save()

    sim = run_all(start(draft_version()))

    totals = sim.results["totals"]
    # without the copies: 8 evaluated, 3 newly ineligible, 1 newly and 1 no longer fast track,
    # 2 moved (c, e), 4 unchanged; each copy is newly ineligible and no longer fast track, and
    # all but the flagged one leave the fast-track queue for the standard queue
    assert totals == {**counts(13, 0, 8, 1, 6, 6, 4), "skipped": 1}
    assert sim.results["transitions"] == {"standard→fast-track": 1, "fast-track→standard": 5}
    assert sim.results["by_nationality"]["IN"] == counts(6, 0, 4, 0, 4, 3, 2)
    assert sim.results["by_nationality"]["BR"] == counts(3, 0, 2, 0, 1, 1, 1)
    assert sim.results["by_nationality"]["NG"] == counts(4, 0, 2, 1, 1, 2, 1)
    assert sim.results["queues"]["before"] == {"standard": 5, "fast-track": 6, "integrity": 2}
    assert sim.results["queues"]["after"] == {"standard": 9, "fast-track": 2, "integrity": 2}
