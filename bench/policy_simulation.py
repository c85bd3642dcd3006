"""Benchmark of the policy simulator: seed N screened applications, simulate a draft, time it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvisa_bench \\
        .venv/bin/python bench/policy_simulation.py --n 100000

Not a test (pytest never collects it). It creates the database named by DATABASE_URL if
needed, migrates it, seeds the missing rows only (a second run reuses them), then runs the
simulation in-process the way the worker does (plan, then every chunk) once in one process
and once in a pool of --processes, and writes the figures to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvisa.settings")

BATCH = 5000
USERS = 300
REFERENCE_PREFIX = "KV-BENCH-"
# Nationalities weighted roughly like a real applicant pool (top sources first).
NATIONALITIES = (
    ("IN", 18), ("PK", 8), ("NG", 7), ("RU", 6), ("BR", 5), ("ID", 5), ("VN", 5), ("EG", 4),
    ("BD", 4), ("IR", 4), ("KZ", 3), ("US", 3), ("DE", 2), ("FR", 2), ("GB", 2), ("IT", 2),
    ("KR", 2), ("JP", 2), ("MY", 2), ("TH", 2), ("ET", 2), ("KE", 2), ("MA", 1), ("TR", 1),
    ("MX", 1), ("AR", 1), ("UZ", 1), ("NP", 1), ("LK", 1), ("GH", 1),
)  # fmt: skip


def _database_setup() -> None:
    """Create the benchmark database when missing (never a test or development database)."""
    url = os.environ.get("DATABASE_URL", "")
    name = urlsplit(url).path.lstrip("/")
    if not url or "bench" not in name:
        sys.exit(
            "Set DATABASE_URL to a database of its own whose name contains 'bench', e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvisa_bench"
        )
    import psycopg
    from psycopg import sql

    server = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def _seed_users() -> list[int]:
    from accounts.models import User

    emails = [f"bench-{i:04d}@bench.kvisa.test" for i in range(USERS)]
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    users = [User(email=e, full_name="Bench") for e in emails if e not in existing]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    return list(User.objects.filter(email__in=emails).values_list("pk", flat=True))


def _random_facts(rng: random.Random, lists: dict[str, Any], submitted: date) -> dict[str, Any]:
    age = int(rng.triangular(19, 58, 31))
    born = submitted - timedelta(days=age * 365 + rng.randrange(365))
    researcher = rng.random() < 0.2

    def field() -> int | None:  # one in twelve studied something outside the STEM list
        return None if rng.random() < 0.08 else rng.choice(lists["fields"])

    def institution() -> int | None:  # a quarter typed a university not on the list
        return None if rng.random() < 0.25 else rng.choice(lists["institutions"])

    degrees = [{"level": "bachelor", "field_id": field(), "institution_id": institution()}]
    if rng.random() < 0.6:
        degrees.append({"level": "master", "field_id": field(), "institution_id": institution()})
        if rng.random() < 0.35:
            degrees.append(
                {"level": "doctorate", "field_id": field(), "institution_id": institution()}
            )
    hsk = rng.randint(1, 6) if rng.random() < 0.3 else None
    return {
        "path": "researcher" if researcher else "graduate",
        "date_of_birth": born.isoformat(),
        "reference_date": submitted.isoformat(),
        "degrees": degrees,
        "post_is_stem": (rng.random() < 0.85) if researcher else None,
        "post_field_id": field() if researcher else None,
        "post_institution_id": institution() if researcher else None,
        "years_experience": min(int(rng.expovariate(1 / 5)), 30),
        "hsk_level": hsk,
        "taught_in_chinese": rng.random() < 0.05,
        "publications": min(int(rng.expovariate(1 / 2)), 40),
        "patents": min(int(rng.expovariate(1 / 0.3)), 10),
    }


def _next_ids(model: Any, count: int) -> list[int]:
    """Primary keys reserved from the table's sequence (so rows can refer to them at once)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _copy(objects: list[Any]) -> None:
    """COPY model instances into their table: every column the ORM would write, prepared by
    the fields themselves (defaults, encryption, JSON), ten times faster than bulk_create."""
    from django.db import connections

    connection = connections["default"]  # the object itself: the proxy costs a lookup per value
    model = type(objects[0])
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or objects[0].pk]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for obj in objects:
            copy.write_row(
                [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
            )


def seed(n: int) -> int:
    """Make sure N bench applications with a current screening exist; returns how many were
    added. Row i is always KV-BENCH-<i>, so a second run finds what the first one made."""
    from django.db import transaction

    from applications.models import Application, Status
    from policy.engine import Facts, RoutingInput, evaluate, route
    from policy.models import Institution, ReviewQueue, StemField
    from policy.selectors import engine_lists, policy_in_force
    from screening.models import Screening

    present = Application.objects.filter(reference__startswith=REFERENCE_PREFIX).count()
    if present >= n:
        return 0
    users = _seed_users()
    policy = policy_in_force()
    lists = engine_lists()
    choices = {
        "fields": list(StemField.objects.values_list("pk", flat=True)),
        "institutions": list(Institution.objects.values_list("pk", flat=True)),
    }
    queues = dict(ReviewQueue.objects.values_list("code", "pk"))
    countries = [c for c, _w in NATIONALITIES]
    weights = [w for _c, w in NATIONALITIES]
    start = datetime(2025, 10, 1, 9, tzinfo=UTC)
    added = 0
    for first in range(present, n, BATCH):
        rng = random.Random(first)  # noqa: S311 - sample data, deterministic per batch
        rows = range(first, min(first + BATCH, n))
        applications, screenings = [], []
        for i in rows:
            submitted_at = start + timedelta(minutes=i % 600_000)
            facts_json = _random_facts(rng, choices, submitted_at.date())
            facts = Facts.from_json(facts_json)
            result = evaluate(
                facts=facts,
                criteria=policy.criteria,
                points_model=policy.points_model,
                lists=lists,
                explain=False,
            )
            flags = [{"code": "duplicate_passport"}] if rng.random() < 0.03 else []
            complete = rng.random() < 0.98
            _index, rule = route(
                policy.routing_rules,
                RoutingInput(
                    path=facts.path,
                    eligible=result.eligible,
                    fast_track=result.fast_track,
                    points=result.points,
                    complete=complete,
                    flags=tuple(f["code"] for f in flags),
                ),
            )
            applications.append(
                Application(
                    applicant_id=users[i % len(users)],
                    status=Status.QUEUED,
                    reference=f"{REFERENCE_PREFIX}{i:09d}",
                    policy_version=policy,
                    path=facts.path,
                    nationality=rng.choices(countries, weights)[0],
                    snapshot={},
                    submitted_at=submitted_at,
                )
            )
            screenings.append(
                Screening(
                    policy_version=policy,
                    facts=facts_json,
                    eligible=result.eligible,
                    points=result.points,
                    fast_track=result.fast_track,
                    complete=complete,
                    flags=flags,
                    queue_id=queues[rule["queue"]],
                )
            )
        with transaction.atomic():
            for application, pk in zip(
                applications, _next_ids(Application, len(rows)), strict=True
            ):
                application.pk = pk
            _copy(applications)
            for application, screening in zip(applications, screenings, strict=True):
                screening.application_id = application.pk
            _copy(screenings)
        added += len(rows)
        print(f"  seeded {first + len(rows):>9,} / {n:,}", end="\r", flush=True)
    print()
    return added


def _draft() -> Any:
    """The draft simulated: maximum age 40 instead of 45, fast track from 55 points, not 60."""
    import copy

    from policy.models import PolicyVersion
    from policy.selectors import policy_in_force

    published = policy_in_force()
    criteria = copy.deepcopy(published.criteria)
    points_model = copy.deepcopy(published.points_model)
    criteria["age"]["max"] = 40
    points_model["fast_track_threshold"] = 55
    draft, _created = PolicyVersion.objects.update_or_create(
        name="bench draft",
        defaults={
            "status": PolicyVersion.Status.DRAFT,
            "criteria": criteria,
            "points_model": points_model,
            "document_checklist": published.document_checklist,
            "visa_terms": published.visa_terms,
            "routing_rules": published.routing_rules,
        },
    )
    return draft


def _run_chunk(chunk_id: int) -> None:
    from screening import simulation

    simulation.simulation_chunk_run(chunk_id=chunk_id)


def simulate(processes: int) -> dict[str, Any]:
    """One simulation, timed from planning to the merged result."""
    from django.db import connections

    from accounts.models import User
    from screening import simulation
    from screening.models import PolicySimulation

    sim = PolicySimulation.objects.create(
        version=_draft(),
        requested_by=User.objects.filter(email__startswith="bench-").earliest("pk"),
    )
    began = time.perf_counter()
    chunk_ids = simulation.simulation_plan(simulation_id=sim.pk)
    planned = time.perf_counter()
    if processes == 1:
        for chunk_id in chunk_ids:
            _run_chunk(chunk_id)
    else:
        connections.close_all()  # the children must open their own connections
        context = multiprocessing.get_context("fork")
        with context.Pool(processes) as pool:
            pool.map(_run_chunk, chunk_ids, chunksize=1)
    elapsed = time.perf_counter() - began
    sim.refresh_from_db()
    if sim.state != PolicySimulation.State.DONE:
        raise SystemExit(f"simulation ended {sim.state}: {sim.error}")
    return {
        "processes": processes,
        "rows": sim.processed,
        "chunks": sim.chunks_total,
        "plan_seconds": round(planned - began, 3),
        "seconds": round(elapsed, 3),
        "rows_per_second": round(sim.processed / elapsed),
        "totals": sim.results["totals"],
        "transitions": sim.results["transitions"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="applications to simulate")
    parser.add_argument("--processes", type=int, default=2, help="pool size for the 2nd run")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=10_000,
        help="rows per chunk (SIMULATION_CHUNK_SIZE; small enough to keep both cores busy)",
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench/results/policy_simulation.json"
    )
    args = parser.parse_args()
    os.environ["SIMULATION_CHUNK_SIZE"] = str(args.chunk_size)

    _database_setup()
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from applications.models import Application

    began = time.perf_counter()
    added = seed(args.n)
    print(f"seeded {added:,} new applications in {time.perf_counter() - began:.1f} s")
    present = Application.objects.filter(reference__startswith=REFERENCE_PREFIX).count()
    if present > args.n:
        print(f"note: the database holds {present:,} bench applications; all are simulated")

    runs = []
    for processes in sorted({1, args.processes}):
        run = simulate(processes)
        runs.append(run)
        print(
            f"{processes} process(es): {run['rows']:,} rows in {run['seconds']:.2f} s "
            f"= {run['rows_per_second']:,} rows/s ({run['chunks']} chunks, "
            f"plan {run['plan_seconds']:.2f} s)"
        )
    print("totals:", json.dumps(runs[-1]["totals"]))
    report = {
        "benchmark": "policy_simulation",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "n": args.n,
        "chunk_size": settings.SIMULATION_CHUNK_SIZE,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
