"""Benchmark of "claim next": seed N applications of a mature system, then time the claim.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvisa_bench_claim \\
        .venv/bin/python bench/claim_next.py --n 1000000

Not a test (pytest never collects it). It creates the database named by DATABASE_URL if
needed, migrates it, seeds it in SQL (INSERT ... SELECT over generate_series, no ORM per row)
unless it already holds N applications, puts back the cases an earlier run claimed, and then
measures, in one run:

a) the service, ``reviews.services.case_claim_next``, "claim then finish" (the finish is a
   direct UPDATE to state 'done'), 1 thread and 8 threads, each thread its own officer and
   its own connection: claims/s and p50/p99 latency of the claim;
b) the same claim in raw SQL with psycopg (SELECT ... FOR UPDATE SKIP LOCKED, UPDATE), the
   baseline, 1 and 8 threads, and the ratio service/raw;
c) the service's rate over the first 5,000 claims and over 5,000 claims after a further
   --claims (50,000, or N/20 when larger) without a manual VACUUM in between;
d) EXPLAIN (ANALYZE, BUFFERS) of the claim query exactly as Django generates it;
e) that no case was claimed twice (in memory, and from the timeline in the database),

and writes bench/results/claim_next-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvisa.settings")
os.environ["DJANGO_DEBUG"] = "false"  # DEBUG on would record every query in memory

BATCH = 100_000
APPLICANTS = 2_000
HOLDERS = 120  # officers who hold one case each (the seeded in_review cases)
BENCH_QUEUE = "standard"
EMAIL_DOMAIN = "bench.kvisa.test"

# Status of the N applications, as in a system that has run for a year: most decided.
STATUS_MIX = (
    ("draft", 0.04),
    ("withdrawn", 0.03),
    ("submitted", 0.005),
    ("queued", 0.15),  # waiting in a queue (a few become in_review, held by HOLDERS)
    ("evidence_requested", 0.03),  # its entry is paused
    ("approved", 0.545),
    ("refused", 0.20),
)
QUEUE_MIX = (
    ("standard", 0.62),
    ("fast-track", 0.15),
    ("integrity", 0.08),
    ("returned-evidence", 0.15),
)
# Nationalities weighted roughly like a real applicant pool (as in policy_simulation.py).
NATIONALITIES = (
    ("IN", 18), ("PK", 8), ("NG", 7), ("RU", 6), ("BR", 5), ("ID", 5), ("VN", 5), ("EG", 4),
    ("BD", 4), ("IR", 4), ("KZ", 3), ("US", 3), ("DE", 2), ("FR", 2), ("GB", 2), ("IT", 2),
    ("KR", 2), ("JP", 2), ("MY", 2), ("TH", 2), ("ET", 2), ("KE", 2), ("MA", 1), ("TR", 1),
    ("MX", 1), ("AR", 1), ("UZ", 1), ("NP", 1), ("LK", 1), ("GH", 1),
)  # fmt: skip

# The "finish" step of claim-then-finish, for the service and the baseline alike: the case is
# done. claimed_by stays set (only in_review rows must be held, and only one per officer), so
# the next run can find what this one claimed and put it back (reset_previous_runs).
FINISH_SQL = (
    "UPDATE screening_queueentry SET state = 'done', lease_expires_at = NULL, "
    "updated_at = now() WHERE id = %s"
)
RAW_CLAIM_SQL = (
    "SELECT id FROM screening_queueentry WHERE queue_id = %s AND state = 'waiting' "
    "ORDER BY priority DESC, entered_at LIMIT 1 FOR UPDATE SKIP LOCKED"
)
RAW_TAKE_SQL = (
    "UPDATE screening_queueentry SET state = 'in_review', claimed_by_id = %s, "
    "claimed_at = now(), lease_expires_at = now() + interval '30 minutes', updated_at = now() "
    "WHERE id = %s"
)


def _database_setup() -> str:
    """Create the benchmark database when missing (never a test or development database)."""
    url = os.environ.get("DATABASE_URL", "")
    name = urlsplit(url).path.lstrip("/")
    if not url or "bench" not in name:
        sys.exit(
            "Set DATABASE_URL to a database of its own whose name contains 'bench', e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvisa_bench_claim"
        )
    import psycopg
    from psycopg import sql

    server = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    return url


# --- Seeding -----------------------------------------------------------------------------------


def _emails(kind: str, count: int) -> list[str]:
    return [f"bench-{kind}-{i:04d}@{EMAIL_DOMAIN}" for i in range(count)]


def _users(kind: str, count: int, *, officer: bool) -> list[int]:
    """The bench users of one kind (created when missing), officers in the officer group."""
    from django.contrib.auth.models import Group

    from accounts.models import User

    emails = _emails(kind, count)
    users = [User(email=e, full_name=f"Bench {kind} {i}") for i, e in enumerate(emails)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users, ignore_conflicts=True)
    ids = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
    pks = [ids[e] for e in emails]
    if officer:
        group = Group.objects.get(name="officer")
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=pk, group_id=group.pk) for pk in pks], ignore_conflicts=True
        )
    return pks


def _join_queues(user_ids: list[int]) -> None:
    from policy.models import ReviewQueue

    through = ReviewQueue.members.through
    through.objects.bulk_create(
        [
            through(reviewqueue_id=queue_id, user_id=user_id)
            for queue_id in ReviewQueue.objects.values_list("pk", flat=True)
            for user_id in user_ids
        ],
        ignore_conflicts=True,
    )


def _uniform(seed: int) -> str:
    """A deterministic pseudo-random number in [0, 1) per row (so batches can be re-run)."""
    return f"((hashint8extended(g.i, {seed}) & 1048575)::float8 / 1048576)"


def _pick(expr: str, mix: tuple[tuple[str, float], ...], values: dict[str, str]) -> str:
    """CASE over cumulative shares: the SQL for "choose by weight"."""
    parts, total = [], 0.0
    for key, share in mix[:-1]:
        total += share
        parts.append(f"WHEN {expr} < {total:.6f} THEN {values[key]}")
    return f"CASE {' '.join(parts)} ELSE {values[mix[-1][0]]} END"


def _damm_sql(digits: str) -> str:
    """applications.reference.check_digit as one SQL expression (Damm's table, unrolled)."""
    from applications.reference import _DAMM_TABLE

    table = "ARRAY[" + ",".join(str(v) for row in _DAMM_TABLE for v in row) + "]"
    expr = "0"
    for position in range(1, 12):
        expr = f"({table})[({expr}) * 10 + substr({digits}, {position}, 1)::int + 1]"
    return expr


def _application_constants() -> dict[str, tuple[Any, str]]:
    """Every column of Application with the value the ORM would write for a typical submitted
    application (defaults, encryption, JSON), and its SQL type for the cast."""
    from django.db import connection

    from applications.models import Application

    template = Application(
        applicant_id=1,
        family_name="BENCH",
        given_names="Case",
        sex="X",
        place_of_birth="Bench City",
        passport_number="E12345678",
        passport_issuing_country="IN",
        contact_email=f"applicant@{EMAIL_DOMAIN}",
        address_line="1 Bench Road",
        city="Bench City",
        postal_code="100000",
        country_of_residence="IN",
        employer_name="Bench University",
        job_title="Researcher",
        declarations_accepted=True,
        signature_name="Case BENCH",
        intended_activities=["science"],
        snapshot={},
    )
    return {
        str(f.column): (f.get_db_prep_save(f.pre_save(template, add=True), connection),
                        str(f.db_type(connection)))
        for f in Application._meta.concrete_fields
    }  # fmt: skip


def _seed_batch(
    cursor: Any, lo: int, hi: int, *, anchor: datetime, applicants: list[int], actors: list[int]
) -> None:
    """Applications lo..hi (their id is their row number), their queue entries and timeline."""
    from policy.models import ReviewQueue

    queues = dict(ReviewQueue.objects.values_list("code", "pk"))
    status = _pick(_uniform(1), STATUS_MIX, {s: f"'{s}'" for s, _share in STATUS_MIX})
    queue = _pick(_uniform(2), QUEUE_MIX, {code: str(queues[code]) for code, _s in QUEUE_MIX})
    nationality_pool = [c for c, weight in NATIONALITIES for _ in range(weight)]
    nationality = (
        "(ARRAY[" + ",".join(f"'{c}'" for c in nationality_pool) + "])"
        f"[1 + floor({_uniform(5)} * {len(nationality_pool)})::int]"
    )
    # When it was submitted: the waiting cases over the last four months, the decided ones
    # over the ten months before, a few unrouted ones in the last two hours.
    submitted = f"""CASE status
        WHEN 'draft' THEN NULL
        WHEN 'submitted' THEN %(anchor)s - {_uniform(4)} * interval '2 hours'
        WHEN 'queued' THEN %(anchor)s - interval '1 hour' - {_uniform(4)} * interval '120 days'
        WHEN 'evidence_requested'
            THEN %(anchor)s - interval '4 days' - {_uniform(4)} * interval '120 days'
        ELSE %(anchor)s - interval '35 days' - {_uniform(4)} * interval '300 days' END"""
    varying = {
        "id": "g.i",
        "public_id": "gen_random_uuid()",
        "status": "status",
        "reference": "CASE WHEN submitted_at IS NULL THEN NULL ELSE 'KV-' || year || '-' "
        "|| lpad(g.i::text, 7, '0') || '-' || "
        + _damm_sql("(year || lpad(g.i::text, 7, '0'))")
        + " END",
        "path": f"CASE WHEN {_uniform(6)} < 0.2 THEN 'researcher' ELSE 'graduate' END",
        "nationality": nationality,
        "passport_digest": "md5(g.i::text)",
        "date_of_birth": f"date '1995-01-01' - (({_uniform(7)} * 12000)::int)",
        "policy_version_id": "%(policy)s",
        "applicant_id": f"(%(applicants)s::bigint[])[1 + mod(g.i, {len(applicants)})]",
        "created_at": f"coalesce(submitted_at, %(anchor)s - {_uniform(4)} * interval '200 days')"
        " - interval '3 days'",
        "updated_at": "coalesce(decided_at, withdrawn_at, submitted_at, "
        f"%(anchor)s - {_uniform(4)} * interval '200 days')",
        "submitted_at": "submitted_at",
        "decided_at": "decided_at",
        "withdrawn_at": "withdrawn_at",
        "signed_at": "submitted_at",
    }
    constants = _application_constants()
    columns, values, params = [], [], {
        "anchor": anchor, "policy": _policy_id(), "applicants": applicants,
        "lo": lo, "hi": hi, "actors": actors,
    }  # fmt: skip
    for column, (value, db_type) in constants.items():
        columns.append(f'"{column}"')
        if column in varying:
            values.append(varying[column])
        else:
            params[f"c_{column}"] = value
            values.append(f"%(c_{column})s::{db_type}")
    cursor.execute(
        f"""
        INSERT INTO applications_application ({", ".join(columns)})
        SELECT {", ".join(values)}
        FROM generate_series(%(lo)s, %(hi)s) AS g(i)
        CROSS JOIN LATERAL (SELECT {status} AS status) s
        CROSS JOIN LATERAL (SELECT {submitted} AS submitted_at) t
        CROSS JOIN LATERAL (
            SELECT to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY') AS year,
                CASE WHEN status IN ('approved', 'refused')
                    THEN submitted_at + interval '3 days' + {_uniform(8)} * interval '28 days'
                    END AS decided_at,
                CASE WHEN status = 'withdrawn'
                    THEN submitted_at + interval '1 day' + {_uniform(8)} * interval '20 days'
                    END AS withdrawn_at
        ) d
        """,  # noqa: S608 - built from constants and the model's own columns
        params,
    )
    # Queue entries: one per routed application; its id is the application's.
    cursor.execute(
        f"""
        INSERT INTO screening_queueentry (id, application_id, queue_id, state, priority,
            entered_at, due_at, paused_at, escalated_at, claimed_by_id, claimed_at,
            lease_expires_at, updated_at)
        SELECT a.id, a.id, q.id, e.state,
            q.priority + CASE WHEN e.escalated THEN 50 WHEN {_uniform(3)} < 0.15 THEN 10
                ELSE 0 END,
            e.entered_at, e.due_at,
            CASE WHEN e.state = 'paused'
                THEN least(e.entered_at + interval '3 days', %(anchor)s) END,
            CASE WHEN e.escalated THEN e.due_at END,
            NULL, NULL, NULL, coalesce(a.decided_at, a.withdrawn_at, e.entered_at)
        FROM generate_series(%(lo)s, %(hi)s) AS g(i)
        JOIN applications_application a ON a.id = g.i
        JOIN policy_reviewqueue q ON q.id = {queue}
        CROSS JOIN LATERAL (
            SELECT CASE a.status WHEN 'queued' THEN 'waiting' WHEN 'evidence_requested'
                    THEN 'paused' ELSE 'done' END AS state,
                a.submitted_at + interval '40 minutes' AS entered_at,
                a.submitted_at + interval '40 minutes'
                    + q.service_level_days * interval '1.4 days' AS due_at
        ) e0
        CROSS JOIN LATERAL (
            SELECT e0.*, {_uniform(3)} < 0.04 AND e0.due_at < %(anchor)s AS escalated
        ) e
        WHERE a.status IN ('queued', 'evidence_requested', 'approved', 'refused')
            OR (a.status = 'withdrawn' AND {_uniform(9)} < 0.7)
        """,  # noqa: S608 - built from constants and the model's own columns
        params,
    )
    # The timeline: created, submitted, queued, claimed, decided / withdrawn.
    cursor.execute(
        f"""
        INSERT INTO applications_timelineevent (at, kind, from_status, to_status, message,
            public, data, actor_id, application_id)
        SELECT t.at, t.kind, t.from_status, t.to_status, '', t.public, '{{}}'::jsonb,
            t.actor, a.id
        FROM generate_series(%(lo)s, %(hi)s) AS g(i)
        JOIN applications_application a ON a.id = g.i
        LEFT JOIN screening_queueentry e ON e.application_id = a.id
        CROSS JOIN LATERAL (
            SELECT (%(actors)s::bigint[])[1 + mod(g.i, {len(actors)})] AS officer,
                a.applicant_id AS applicant
        ) who
        CROSS JOIN LATERAL (VALUES
            (a.created_at, 'created', '', 'draft', true, who.applicant, true),
            (a.submitted_at, 'status', 'draft', 'submitted', true, who.applicant,
                a.submitted_at IS NOT NULL),
            (e.entered_at, 'status', 'submitted', 'queued', true, NULL, e.id IS NOT NULL),
            (a.decided_at - interval '2 days', 'status', 'queued', 'in_review', true,
                who.officer, a.decided_at IS NOT NULL),
            (a.decided_at, 'status', 'in_review', a.status, true, who.officer,
                a.decided_at IS NOT NULL),
            (a.withdrawn_at, 'status', CASE WHEN e.id IS NULL THEN 'submitted'
                ELSE 'queued' END, 'withdrawn', true, who.applicant, a.withdrawn_at IS NOT NULL)
        ) AS t(at, kind, from_status, to_status, public, actor, present)
        WHERE t.present
        """,  # noqa: S608 - built from constants and the model's own columns
        params,
    )


def _policy_id() -> int:
    from policy.selectors import policy_in_force

    return policy_in_force().pk


def _hand_out_held_cases(holders: list[int], anchor: datetime) -> int:
    """Officers at work: each holder who holds nothing takes one waiting case (any queue)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH free AS (
                SELECT u, row_number() OVER (ORDER BY u) AS n FROM unnest(%(holders)s::bigint[])
                    AS u WHERE NOT EXISTS (SELECT 1 FROM screening_queueentry
                        WHERE claimed_by_id = u AND state = 'in_review')
            ), picked AS (
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM (
                    SELECT id FROM screening_queueentry WHERE state = 'waiting'
                    ORDER BY hashint8extended(id, 11) LIMIT (SELECT count(*) FROM free)) p
            ), held AS (
                UPDATE screening_queueentry e SET state = 'in_review', claimed_by_id = free.u,
                    claimed_at = %(anchor)s - interval '20 minutes',
                    lease_expires_at = %(anchor)s + interval '1 day', updated_at = %(anchor)s
                FROM picked JOIN free USING (n) WHERE e.id = picked.id
                RETURNING e.application_id, e.claimed_by_id
            ), moved AS (
                UPDATE applications_application a SET status = 'in_review',
                    updated_at = %(anchor)s
                FROM held WHERE a.id = held.application_id RETURNING a.id
            )
            INSERT INTO applications_timelineevent (at, kind, from_status, to_status, message,
                public, data, actor_id, application_id)
            SELECT %(anchor)s - interval '20 minutes', 'status', 'queued', 'in_review', '',
                true, '{"claimed": true}'::jsonb, held.claimed_by_id, held.application_id
            FROM held
            """,
            {"holders": holders, "anchor": anchor},
        )
        return cursor.rowcount


def _reference_sequences() -> None:
    """Move the per-year reference sequences past the seeded numbers (as next_reference would
    see them), so a real submission in this database could not collide."""
    from django.db import connection

    from applications.reference import MAX_SEQUENCE

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT substr(reference, 4, 4)::int, max(id) FROM applications_application "
            "WHERE reference LIKE 'KV-%%' GROUP BY 1"
        )
        for year, last in cursor.fetchall():
            name = f"applications_reference_{year:04d}"
            cursor.execute(
                f"CREATE SEQUENCE IF NOT EXISTS {name} AS integer MINVALUE 1 "
                f"MAXVALUE {MAX_SEQUENCE}"
            )
            cursor.execute("SELECT setval(%s, %s)", [name, last])
        for table in ("applications_application", "screening_queueentry"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )


def seed(n: int, *, holders: list[int]) -> dict[str, Any]:
    """Make sure N applications exist (row i has id i); returns what was done and how long."""
    from django.db import connection, transaction

    from applications.models import Application
    from applications.reference import parse_reference

    present = Application.objects.count()
    if present >= n:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = current_database()"
            )
            (comment,) = cursor.fetchone()
        earlier = json.loads(comment) if comment and comment.startswith("{") else None
        return {"added": 0, "present": present, "earlier_seeding": earlier}
    last = Application.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    applicants = _users("applicant", APPLICANTS, officer=False)
    anchor = datetime.now(UTC).replace(microsecond=0)
    began = time.perf_counter()
    for lo in range(last + 1, last + 1 + n - present, BATCH):
        hi = min(lo + BATCH - 1, last + n - present)
        with transaction.atomic(), connection.cursor() as cursor:
            _seed_batch(cursor, lo, hi, anchor=anchor, applicants=applicants, actors=holders)
        print(
            f"  seeded {hi - last + present:>9,} / {n:,} ({time.perf_counter() - began:.0f} s)",
            end="\r",
            flush=True,
        )
    print()
    held = _hand_out_held_cases(holders, anchor)
    _reference_sequences()
    inserted = time.perf_counter() - began
    for reference in Application.objects.exclude(reference=None).values_list(
        "reference", flat=True
    )[:200]:
        parse_reference(str(reference))  # the seeded check digits are the real ones
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        done = {
            "added": n - present,
            "present": n,
            "held_cases": held,
            "insert_seconds": round(inserted, 1),
            "vacuum_analyze_seconds": round(time.perf_counter() - began - inserted, 1),
            "seconds": round(time.perf_counter() - began, 1),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database_size": None,
        }
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        (done["database_size"],) = cursor.fetchone()
        # Kept with the database, so a later run that skips seeding still reports it.
        cursor.execute(
            f"COMMENT ON DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])}"
            " IS %s",
            [json.dumps(done)],
        )
    return done


def reset_previous_runs(bench_officers: list[int]) -> int:
    """Put back in their queue the cases an earlier run's bench officers claimed (and remove
    the timeline rows those claims wrote), so every run starts from the seeded state."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE applications_application a SET status = 'queued', updated_at = now() "
            "FROM screening_queueentry e WHERE e.application_id = a.id "
            "AND e.claimed_by_id = ANY(%s) AND a.status = 'in_review'",
            [bench_officers],
        )
        cursor.execute(
            "UPDATE screening_queueentry SET state = 'waiting', claimed_by_id = NULL, "
            "claimed_at = NULL, lease_expires_at = NULL, updated_at = now() "
            "WHERE claimed_by_id = ANY(%s)",
            [bench_officers],
        )
        restored = cursor.rowcount
        cursor.execute(
            "DELETE FROM applications_timelineevent WHERE actor_id = ANY(%s)", [bench_officers]
        )
    return restored


def _vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def _buffers(plan: list[str]) -> int:
    """Shared buffers (hit + read) the whole claim query touched: its plan's first Buffers line."""
    line = next(line for line in plan if "Buffers:" in line)
    return sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", line))


def _queueentry_options() -> list[str]:
    """Storage parameters of the queue table (autovacuum settings tried by hand show here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'screening_queueentry'")
        (options,) = cursor.fetchone()
    return list(options or [])


def _table_stats() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, "
            "autovacuum_count, autoanalyze_count FROM pg_stat_user_tables WHERE relname IN "
            "('screening_queueentry', 'applications_application', "
            "'applications_timelineevent')"
        )
        names = [c.name for c in cursor.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}


# --- Measurement -------------------------------------------------------------------------------


class Phase:
    """Claims by T threads started together; each records its claims and their latencies."""

    def __init__(self, name: str, kind: str, threads: int) -> None:
        self.name = name
        self.kind = kind  # "service" or "raw"
        self.threads = threads
        self.ids: list[list[int]] = [[] for _ in range(threads)]
        self.latencies: list[list[float]] = [[] for _ in range(threads)]
        self.finished_at: list[list[float]] = [[] for _ in range(threads)]
        self.errors: list[BaseException] = []
        self.started = 0.0
        self.ended = 0.0

    def run(self, worker: Callable[..., None], officers: list[int], per_thread: int) -> Phase:
        barrier = threading.Barrier(self.threads + 1)
        pool = [
            threading.Thread(target=self._guard, args=(worker, k, officers[k], per_thread, barrier))
            for k in range(self.threads)
        ]
        for thread in pool:
            thread.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()  # broken when a thread failed before the start: raised below
        self.started = time.perf_counter()
        for thread in pool:
            thread.join()
        self.ended = time.perf_counter()
        if self.errors:
            raise self.errors[0]
        return self

    def _guard(self, worker: Callable[..., None], k: int, *args: Any) -> None:
        try:
            worker(self, k, *args)
        except BaseException as exc:  # reported by run() in the main thread
            self.errors.append(exc)
            barrier = args[-1]
            barrier.abort()

    @property
    def claims(self) -> int:
        return sum(len(ids) for ids in self.ids)

    def summary(self) -> dict[str, Any]:
        latencies = sorted(x for per in self.latencies for x in per)
        elapsed = self.ended - self.started
        return {
            "phase": self.name,
            "kind": self.kind,
            "threads": self.threads,
            "claims": self.claims,
            "seconds": round(elapsed, 3),
            "claims_per_second": round(self.claims / elapsed, 1),
            "p50_ms": round(_quantile(latencies, 0.50) * 1000, 2),
            "p99_ms": round(_quantile(latencies, 0.99) * 1000, 2),
        }


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def _service_worker(
    phase: Phase, k: int, officer_id: int, count: int, barrier: threading.Barrier
) -> None:
    """case_claim_next, then the case is finished; Django's connection is this thread's own."""
    from django.db import connection

    from accounts.models import User
    from policy.models import ReviewQueue
    from reviews.services import case_claim_next

    try:
        officer = User.objects.get(pk=officer_id)
        assert officer.is_officer  # loads the permission cache, as a request's user has it
        queue = ReviewQueue.objects.get(code=BENCH_QUEUE)
        ids, latencies, finished = phase.ids[k], phase.latencies[k], phase.finished_at[k]
        barrier.wait()
        clock = time.perf_counter
        for _ in range(count):
            began = clock()
            entry = case_claim_next(officer=officer, queue=queue)
            claimed = clock()
            if entry is None:
                break
            with connection.cursor() as cursor:
                cursor.execute(FINISH_SQL, [entry.pk])
            ids.append(entry.pk)
            latencies.append(claimed - began)
            finished.append(clock())
    finally:
        connection.close()


def _raw_worker(
    phase: Phase, k: int, officer_id: int, count: int, barrier: threading.Barrier
) -> None:
    """The baseline: the same claim and finish in two statements over psycopg directly."""
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        found = conn.execute(
            "SELECT id FROM policy_reviewqueue WHERE code = %s", [BENCH_QUEUE]
        ).fetchone()
        assert found is not None
        queue_id = found[0]
        ids, latencies, finished = phase.ids[k], phase.latencies[k], phase.finished_at[k]
        barrier.wait()
        clock = time.perf_counter
        for _ in range(count):
            began = clock()
            with conn.transaction():
                row = conn.execute(RAW_CLAIM_SQL, [queue_id]).fetchone()
                if row is not None:
                    conn.execute(RAW_TAKE_SQL, [officer_id, row[0]])
            claimed = clock()
            if row is None:
                break
            conn.execute(FINISH_SQL, [row[0]])
            ids.append(row[0])
            latencies.append(claimed - began)
            finished.append(clock())


def _window_rates(phase: Phase, window: int) -> list[float]:
    """Claims/s over consecutive windows of `window` claims (all threads merged)."""
    stamps = sorted(t for per in phase.finished_at for t in per)
    rates, start = [], phase.started
    for end in range(window, len(stamps) + 1, window):
        rates.append(window / (stamps[end - 1] - start))
        start = stamps[end - 1]
    return rates


def _statement_kind(sql: str) -> str:
    """A name for each statement of the claim path (for the time breakdown)."""
    head = sql.lstrip()[:12].upper()
    if head.startswith(("SAVEPOINT", "RELEASE")):
        return "SAVEPOINT / RELEASE (nested atomic)"
    if "policy_reviewqueue_members" in sql:
        return "membership check"
    if head.startswith("SELECT") and '"accounts_user"' in sql and "FOR UPDATE" in sql:
        return "officer row lock"
    if "SKIP LOCKED" in sql:
        return "claim SELECT ... SKIP LOCKED"
    if head.startswith("SELECT") and "screening_queueentry" in sql:
        return "held entry lookup"
    if head.startswith("UPDATE") and "screening_queueentry" in sql:
        return "entry UPDATE"
    if head.startswith("SELECT") and "applications_application" in sql:
        return "application re-read FOR UPDATE"
    if head.startswith("UPDATE") and "applications_application" in sql:
        return "application UPDATE (every column)"
    if head.startswith("INSERT") and "applications_timelineevent" in sql:
        return "timeline INSERT"
    return sql[:40]


def breakdown(officer_id: int, claims: int) -> dict[str, Any]:
    """Where a service claim's time goes: wall time of each statement (round trip included)
    and of the COMMIT, measured around Django's cursor; the rest is Python (ORM, model
    instances, field encryption)."""
    from django.db import connections

    from accounts.models import User
    from policy.models import ReviewQueue
    from reviews.services import case_claim_next

    connection: Any = connections["default"]  # this thread's; _commit is patched below
    officer = User.objects.get(pk=officer_id)
    assert officer.is_officer
    queue = ReviewQueue.objects.get(code=BENCH_QUEUE)
    spent: dict[str, float] = {}
    clock = time.perf_counter

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = clock()
        try:
            return execute(sql, params, many, context)
        finally:
            kind = _statement_kind(sql)
            spent[kind] = spent.get(kind, 0.0) + clock() - began

    commit = connection._commit

    def timed_commit() -> None:
        began = clock()
        commit()
        spent["COMMIT (deferred FK checks, WAL flush)"] = (
            spent.get("COMMIT (deferred FK checks, WAL flush)", 0.0) + clock() - began
        )

    ids, total = [], 0.0
    connection._commit = timed_commit
    try:
        for _ in range(claims):
            with connection.execute_wrapper(timed):
                began = clock()
                entry = case_claim_next(officer=officer, queue=queue)
                total += clock() - began
            if entry is None:
                break
            ids.append(entry.pk)
            with connection.cursor() as cursor:
                cursor.execute(FINISH_SQL, [entry.pk])
    finally:
        del connection._commit
    n = len(ids)
    rows = {kind: round(seconds / n * 1000, 3) for kind, seconds in spent.items()}
    rows["Python (ORM, models, encryption)"] = round((total - sum(spent.values())) / n * 1000, 3)
    return {"claims": n, "ids": ids, "ms_per_claim": round(total / n * 1000, 3), "parts": rows}


def explain_claim(officer_id: int) -> dict[str, Any]:
    """One service claim under CaptureQueriesContext, then EXPLAIN (ANALYZE, BUFFERS) of the
    SELECTs it sent (in a transaction rolled back), the claim query in full."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from policy.models import ReviewQueue
    from reviews.services import case_claim_next

    officer = User.objects.get(pk=officer_id)
    assert officer.is_officer  # permissions cached first, as in the measured threads
    queue = ReviewQueue.objects.get(code=BENCH_QUEUE)
    with CaptureQueriesContext(connection) as captured:
        entry = case_claim_next(officer=officer, queue=queue)
    assert entry is not None
    with connection.cursor() as cursor:
        cursor.execute(FINISH_SQL, [entry.pk])
    queries = [q["sql"] for q in captured.captured_queries]  # BEGIN and COMMIT included
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in queries:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plans.append({"sql": sql, "plan": [line for (line,) in cursor.fetchall()]})
        transaction.set_rollback(True)
    claim = next(p for p in plans if "SKIP LOCKED" in p["sql"])
    return {
        "claimed_entry": entry.pk,
        "round_trips_per_claim": len(queries),
        "statements": [q[:70] for q in queries],
        "claim_sql": claim["sql"],
        "claim_plan": claim["plan"],
        "uses_claimable_index": any("queue_entry_claimable_idx" in line for line in claim["plan"]),
        "other_selects": [
            {"sql": p["sql"][:160], "execution": p["plan"][-1], "top": p["plan"][0]}
            for p in plans
            if p is not claim
        ],
    }


def check_double_claims(
    phases: list[Phase], extra: list[int], service_officers: list[int]
) -> dict[str, Any]:
    """No entry claimed twice: in memory over every phase (and the `extra` claims made for
    EXPLAIN), and in the database from the timeline (exactly one in_review row per case a
    service officer claimed, as many rows as service claims)."""
    from django.db import connection

    every = [i for phase in phases for ids in phase.ids for i in ids] + extra
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT application_id), "
            "count(*) FILTER (WHERE n > 1) FROM (SELECT application_id, count(*) AS n "
            "FROM applications_timelineevent WHERE actor_id = ANY(%s) AND kind = 'status' "
            "AND to_status = 'in_review' GROUP BY 1) t",
            [service_officers],
        )
        (_rows, cases, twice) = cursor.fetchone()
        cursor.execute(
            "SELECT sum(n), count(*) FROM (SELECT application_id, count(*) AS n "
            "FROM applications_timelineevent WHERE actor_id = ANY(%s) AND kind = 'status' "
            "AND to_status = 'in_review' GROUP BY 1) t",
            [service_officers],
        )
        (events, _cases) = cursor.fetchone()
    service_claims = sum(p.claims for p in phases if p.kind == "service") + len(extra)
    return {
        "claims": len(every),
        "distinct_entries": len(set(every)),
        "duplicates_in_memory": len(every) - len(set(every)),
        "service_claims_incl_explain": service_claims,
        "timeline_in_review_rows": int(events or 0),
        "timeline_cases": cases,
        "timeline_cases_claimed_twice": twice,
        "ok": len(every) == len(set(every)) and twice == 0 and events == service_claims,
    }


# --- Report ------------------------------------------------------------------------------------


def _markdown(report: dict[str, Any]) -> str:
    rows = report["phases"]
    lines = [
        f"# claim next, {report['date'][:10]}",
        "",
        f"N = {report['n']:,} applications ({report['backlog_waiting']:,} waiting in "
        f"`{BENCH_QUEUE}` at the start); {report['machine']['cpus']} CPUs, Python "
        f"{report['machine']['python']}, PostgreSQL {report['postgres']}.",
        "",
        "| measurement | threads | claims | claims/s | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['phase']} | {row['threads']} | {row['claims']:,} | "
            f"{row['claims_per_second']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |"
        )
    ratios = report["ratios"]
    vacuums = (
        report["still_fast"]["queueentry_after"]["autovacuum_count"]
        - report["still_fast"]["queueentry_before"]["autovacuum_count"]
    )
    lines += [
        "",
        f"- service / raw: {ratios['service_over_raw_1']:.2f} (1 thread), "
        f"{ratios['service_over_raw_8']:.2f} ({report['threads']} threads)",
        f"- after {report['still_fast']['further_claims']:,} more claims: "
        f"{report['still_fast']['rate_last']:,.0f} vs {report['still_fast']['rate_first']:,.0f}"
        f" claims/s at first, ratio {report['still_fast']['ratio']:.2f}",
        f"- double claims: {report['double_claims']['duplicates_in_memory']} in memory, "
        f"{report['double_claims']['timeline_cases_claimed_twice']} in the timeline "
        f"({'ok' if report['double_claims']['ok'] else 'FAILED'})",
        f"- claim query: {report['still_fast']['claim_query_buffers_first']} shared buffers at "
        f"the start, {report['still_fast']['claim_query_buffers_after']} after the many-claims "
        f"run (autovacuum ran {vacuums} time(s) on "
        f"screening_queueentry; its storage parameters: "
        f"{', '.join(report['queueentry_storage_parameters']) or 'defaults'})",
        f"- round trips per service claim: {report['explain']['round_trips_per_claim']}",
        "",
        "Where a service claim's time goes (ms a claim, 1 thread):",
        "",
        *[
            f"- {ms:.3f} {kind}"
            for kind, ms in sorted(report["breakdown"]["parts"].items(), key=lambda kv: -kv[1])
        ],
        "",
        "## The claim query (as Django generates it)",
        "",
        "```sql",
        report["explain"]["claim_sql"],
        "```",
        "",
        "```",
        *report["explain"]["claim_plan"],
        "```",
        "",
        "After the many-claims run, before any VACUUM:",
        "",
        "```",
        *report["explain_after_many"]["claim_plan"],
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="applications in the database")
    parser.add_argument("--threads", type=int, default=8, help="threads of the concurrent runs")
    parser.add_argument("--single", type=int, default=3_000, help="claims of a 1-thread run")
    parser.add_argument(
        "--per-thread", type=int, default=500, help="claims per thread of a concurrent run"
    )
    parser.add_argument("--window", type=int, default=5_000, help="claims in a rate window")
    parser.add_argument(
        "--claims",
        type=int,
        default=None,
        help="claims between the two windows of (c); default 50,000 or N/20, whichever is more",
    )
    parser.add_argument(
        "--many-threads", type=int, default=2, help="threads of the many-claims run (c)"
    )
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench/results")
    parser.add_argument(
        "--label", default="", help="appended to the result files' names (claim_next-DATE-LABEL)"
    )
    args = parser.parse_args()
    further = args.claims if args.claims is not None else max(50_000, args.n // 20)

    url = _database_setup()
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    assert not settings.DEBUG
    call_command("migrate", verbosity=0, interactive=False)  # skips the system checks

    from django.db import connection

    from screening.models import QueueEntry

    threads = args.threads
    holders = _users("officer", HOLDERS, officer=True)
    service_officers = _users("claim-service", max(threads, args.many_threads), officer=True)
    raw_officers = _users("claim-raw", threads, officer=True)
    _join_queues(holders + service_officers + raw_officers)

    began = time.perf_counter()
    seeded = seed(args.n, holders=holders)
    if seeded["added"]:
        print(
            f"seeded {seeded['added']:,} applications in {seeded['seconds']:.1f} s "
            f"(inserts {seeded['insert_seconds']:.1f} s, VACUUM ANALYZE "
            f"{seeded['vacuum_analyze_seconds']:.1f} s)"
        )
    else:
        print(f"the database holds {seeded['present']:,} applications: not seeded again")
    restored = reset_previous_runs(service_officers + raw_officers)
    _vacuum("screening_queueentry", "applications_application", "applications_timelineevent")
    if restored:
        print(f"put back {restored:,} cases claimed by an earlier run")
    print(f"set-up {time.perf_counter() - began:.1f} s")

    backlog = QueueEntry.objects.filter(queue__code=BENCH_QUEUE, state="waiting").count()
    plan = {
        "warmup": 200,
        "breakdown": 500,
        "single": args.single,
        "per_thread": args.per_thread,
        "window": args.window,
        "further": further,
    }
    needed = 2 + plan["warmup"] + plan["breakdown"]
    needed += 2 * (plan["single"] + threads * plan["per_thread"])
    needed += 2 * plan["window"] + plan["further"]
    if needed > 0.97 * backlog:
        scale = 0.97 * backlog / needed
        plan = {k: max(1, int(v * scale)) for k, v in plan.items()}
        print(f"note: {backlog:,} cases waiting; claims scaled to {scale:.0%} of the plan")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()

    print(f"{backlog:,} cases waiting in {BENCH_QUEUE}; officers claim from it")
    explain = explain_claim(service_officers[0])
    print(
        f"\n(d) the service's claim query ({explain['round_trips_per_claim']} round trips a "
        f"claim: {', '.join(s.split(' ')[0] for s in explain['statements'])}):\n"
    )
    print(explain["claim_sql"], "\n")
    print("\n".join(explain["claim_plan"]))
    print("uses queue_entry_claimable_idx:", "yes" if explain["uses_claimable_index"] else "NO")
    for other in explain["other_selects"]:
        print(f"  {other['execution']:<26} {other['sql'][:100]}")

    phases: list[Phase] = []

    def measured(name: str, kind: str, n_threads: int, per: int) -> Phase:
        _vacuum("screening_queueentry")
        worker, who = (
            (_service_worker, service_officers)
            if kind == "service"
            else (_raw_worker, raw_officers)
        )
        phase = Phase(name, kind, n_threads).run(worker, who, per)
        phases.append(phase)
        row = phase.summary()
        print(
            f"{name:<22} {n_threads:>2} thr {row['claims']:>7,} claims "
            f"{row['claims_per_second']:>8,.0f}/s  p50 {row['p50_ms']:6.2f} ms  "
            f"p99 {row['p99_ms']:6.2f} ms"
        )
        return phase

    print()
    measured("warm-up (not counted)", "service", 1, plan["warmup"])
    parts = breakdown(service_officers[0], plan["breakdown"])
    print(f"service claim, time per part ({parts['claims']} claims, 1 thread, "
          f"{parts['ms_per_claim']:.2f} ms a claim):")  # fmt: skip
    for kind, ms in sorted(parts["parts"].items(), key=lambda kv: -kv[1]):
        print(f"  {ms:7.3f} ms  {kind}")
    results = [
        measured("service", "service", 1, plan["single"]),
        measured("service", "service", threads, plan["per_thread"]),
        measured("raw SQL", "raw", 1, plan["single"]),
        measured("raw SQL", "raw", threads, plan["per_thread"]),
    ]
    rows = [p.summary() for p in results]

    # (c) many claims, no manual VACUUM between the first and the last window.
    stats_before = _table_stats()
    total = 2 * plan["window"] + plan["further"]
    per = -(-total // args.many_threads)
    many = measured("service, many claims", "service", args.many_threads, per)
    stats_after = _table_stats()
    windows = _window_rates(many, plan["window"])
    skip = plan["further"] // plan["window"] + 1  # the window that starts after `further`
    first, last = windows[0], windows[min(skip, len(windows) - 1)]
    explain_after = explain_claim(service_officers[0])  # before any VACUUM
    still_fast = {
        "threads": args.many_threads,
        "window": plan["window"],
        "further_claims": plan["further"],
        "rate_first": round(first, 1),
        "rate_last": round(last, 1),
        "ratio": round(last / first, 3),
        "window_rates": [round(r, 1) for r in windows],
        "claim_query_buffers_first": _buffers(explain["claim_plan"]),
        "claim_query_buffers_after": _buffers(explain_after["claim_plan"]),
        "queueentry_before": stats_before["screening_queueentry"],
        "queueentry_after": stats_after["screening_queueentry"],
    }
    print(
        f"(c) first {plan['window']:,} claims {first:,.0f}/s; after {plan['further']:,} more: "
        f"{last:,.0f}/s; ratio {last / first:.2f}"
    )
    print("    claims/s per window:", " ".join(f"{r:.0f}" for r in windows))
    before, after = stats_before["screening_queueentry"], stats_after["screening_queueentry"]
    print(
        f"    claim query: {still_fast['claim_query_buffers_first']} buffers at the start, "
        f"{still_fast['claim_query_buffers_after']} after them; screening_queueentry "
        f"{after['n_dead_tup']:,} dead rows, autovacuum ran "
        f"{after['autovacuum_count'] - before['autovacuum_count']} time(s)"
    )
    print("    claim query after them (no VACUUM yet):")
    print("\n".join("      " + line for line in explain_after["claim_plan"]))

    double = check_double_claims(
        phases,
        [explain["claimed_entry"], explain_after["claimed_entry"], *parts.pop("ids")],
        service_officers,
    )
    print(
        f"(e) {double['claims']:,} claims, {double['distinct_entries']:,} distinct cases, "
        f"{double['timeline_cases_claimed_twice']} cases with two in_review timeline rows: "
        f"{'no double claims' if double['ok'] else 'DOUBLE CLAIMS'}"
    )

    ratios = {
        "service_over_raw_1": round(rows[0]["claims_per_second"] / rows[2]["claims_per_second"], 3),
        "service_over_raw_8": round(rows[1]["claims_per_second"] / rows[3]["claims_per_second"], 3),
    }
    print()
    print(f"{'measurement':<12} {'threads':>7} {'claims':>8} {'claims/s':>9} {'p50 ms':>7} "
          f"{'p99 ms':>7}")  # fmt: skip
    for row in rows:
        print(
            f"{row['phase']:<12} {row['threads']:>7} {row['claims']:>8,} "
            f"{row['claims_per_second']:>9,.0f} {row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f}"
        )
    print(
        f"service/raw: {ratios['service_over_raw_1']:.2f} (1 thread), "
        f"{ratios['service_over_raw_8']:.2f} ({threads} threads); many claims ratio "
        f"{still_fast['ratio']:.2f}"
    )

    now = datetime.now(UTC)
    report = {
        "benchmark": "claim_next",
        "date": now.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "postgres": server_version,
        "queueentry_storage_parameters": _queueentry_options(),
        "database": urlsplit(url).path.lstrip("/"),
        "n": args.n,
        "label": args.label,
        "seeding": seeded,
        "backlog_waiting": backlog,
        "threads": threads,
        "plan": plan,
        "phases": rows,
        "ratios": ratios,
        "still_fast": still_fast,
        "many_claims_phase": many.summary(),
        "breakdown": parts,
        "explain": explain,
        "explain_after_many": {k: explain_after[k] for k in ("claim_sql", "claim_plan")},
        "double_claims": double,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = args.output_dir / "-".join(
        part for part in ("claim_next", now.date().isoformat(), args.label) if part
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(_markdown(report), encoding="utf-8")
    print(f"wrote {stem}.json and .md")
    if not double["ok"]:
        sys.exit("double claims found")


if __name__ == "__main__":
    main()
