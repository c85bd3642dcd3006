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
d) EXPLAIN (ANALYZE, BUFFERS) of the claim query exactly as the service sends it;
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

from bench.seed import (  # noqa: E402 - after the path and the environment are set
    BENCH_QUEUE,
    HOLDERS,
    database_setup,
    join_queues,
    seed,
    users,
    vacuum,
)

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
    if head.startswith("SELECT") and '"accounts_user"' in sql and "FOR UPDATE" in sql:
        return "officer row lock (+ membership)"
    if "SKIP LOCKED" in sql:
        return "the claim (membership, SKIP LOCKED pick, entry, case, timeline)"
    if "policy_reviewqueue_members" in sql:
        return "membership check"
    if head.startswith("SELECT") and "screening_queueentry" in sql:
        return "held entry lookup"
    if head.startswith("UPDATE") and "screening_queueentry" in sql:
        return "entry UPDATE"
    if head.startswith("SELECT") and "applications_application" in sql:
        return "application re-read FOR UPDATE"
    if head.startswith("UPDATE") and "applications_application" in sql:
        return "application UPDATE"
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
    queries it sent (in a transaction rolled back), the claim query in full."""
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
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue  # the claim's data-modifying CTEs are rolled back with the rest
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plans.append({"sql": sql, "plan": [line for (line,) in cursor.fetchall()]})
        transaction.set_rollback(True)
    claim = next(p for p in plans if "SKIP LOCKED" in p["sql"])
    return {
        "claimed_entry": entry.pk,
        "round_trips_per_claim": len(queries),
        "statements": [" ".join(q.split())[:70] for q in queries],
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
        "## The claim query (as the service sends it)",
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

    url = database_setup()
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    assert not settings.DEBUG
    call_command("migrate", verbosity=0, interactive=False)  # skips the system checks

    from django.db import connection

    from screening.models import QueueEntry

    threads = args.threads
    holders = users("officer", HOLDERS, officer=True)
    service_officers = users("claim-service", max(threads, args.many_threads), officer=True)
    raw_officers = users("claim-raw", threads, officer=True)
    join_queues(holders + service_officers + raw_officers)

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
    vacuum("screening_queueentry", "applications_application", "applications_timelineevent")
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
        vacuum("screening_queueentry")
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
