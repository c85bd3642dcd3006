"""The HTTP benchmark (issue 7): every scenario beside its baseline, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvisa_bench_http \\
        .venv/bin/python bench/harness.py --duration 10

Serves the app with gunicorn and kvisa/gunicorn.conf.py as in production (DEBUG off,
bench.settings: the project's settings plus the /bench/ baseline routes and throttles out of
reach), drives it with Debian's wrk (bench/wrk/*.lua), runs the raw-SQL baselines with pgbench,
starts a Celery worker for the pipeline, runs the policy simulation in-process, samples the
RSS of the web and worker processes, prints one table and writes
bench/results/bench-<date>[-<label>].json and .md. Needs ``make bench-seed`` first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
# The bench's own secrets (encryption keys of the seeded passport numbers): the seeder and
# every process here read the same file, never the developer's .env.
os.environ.setdefault("KVISA_ENV_FILE", str(ROOT / "bench" / ".env"))

from bench.seed import database_setup  # noqa: E402 - after the environment is set

WRK_DIR = ROOT / "bench" / "wrk"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
VENV_BIN = Path(sys.executable).parent
MB = 1024 * 1024


@dataclass
class Measure:
    """One load run: a scenario or a baseline."""

    name: str
    rate: float  # requests (or rows, tasks) per second
    unit: str = "req/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int | None = None  # non-2xx responses plus socket errors
    requests: int | None = None
    seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    """A scenario, its baselines, and the target it is held to (against `baselines[0]`)."""

    scenario: Measure
    baselines: list[Measure]
    target: str
    met: bool | None = None
    ratio: float | None = None
    notes: list[str] = field(default_factory=list)


# --- Processes ----------------------------------------------------------------------------------


class RssSampler:
    """The peak RSS of each role's processes (a process tree per role), sampled every 0.2 s."""

    def __init__(self) -> None:
        self.roots: dict[str, int] = {}
        self.peaks: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def watch(self, role: str, pid: int) -> None:
        self.roots[role] = pid

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            for role, pid in list(self.roots.items()):
                try:
                    root = psutil.Process(pid)
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for proc in tree:
                    try:
                        rss = proc.memory_info().rss
                        kind = "main" if proc.pid == pid else "child"
                    except psutil.NoSuchProcess:
                        continue
                    peak = self.peaks.setdefault(role, {"main": 0, "child": 0})
                    peak[kind] = max(peak[kind], rss)


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our server
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the server did not answer {url} within {timeout:.0f} s")
        time.sleep(0.3)


@contextmanager
def gunicorn(port: int, logs: Path, rss: RssSampler) -> Iterator[str]:
    """gunicorn with the production configuration, on 127.0.0.1:port."""
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    log = (logs / "gunicorn.log").open("w")
    proc = subprocess.Popen(  # noqa: S603 - our own server
        [str(VENV_BIN / "gunicorn"), "-c", "kvisa/gunicorn.conf.py", "kvisa.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base}/bench/hello/")
        rss.watch("web", proc.pid)
        yield base
    finally:
        rss.roots.pop("web", None)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def celery_worker(logs: Path, rss: RssSampler, concurrency: int) -> Iterator[None]:
    """A Celery worker as production runs one (prefork), with the bench's no-op task."""
    from bench.celery_app import app

    log = (logs / "worker.log").open("w")
    hostname = f"bench-{os.getpid()}@%h"
    proc = subprocess.Popen(  # noqa: S603 - our own worker
        [str(VENV_BIN / "celery"), "-A", "bench.celery_app", "worker", "--loglevel", "WARNING",
         "--concurrency", str(concurrency), "--hostname", hostname],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=1.0):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the Celery worker did not start; see {logs / 'worker.log'}")
        rss.watch("worker", proc.pid)
        yield
    finally:
        rss.roots.pop("worker", None)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# --- Load generators ------------------------------------------------------------------------


def wrk(
    name: str,
    url: str,
    script: str,
    *,
    duration: int,
    connections: int,
    threads: int,
    env: dict[str, str] | None = None,
    warmup: int = 2,
) -> Measure:
    """One wrk run (after a short warm-up that is not counted), read from its WRK_JSON line."""
    run_env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR), **(env or {})}
    results = {}
    for seconds in (warmup, duration):
        if not seconds:
            continue
        run_env["BENCH_RUN"] = f"{os.getpid()}-{time.time_ns()}"
        out = subprocess.run(  # noqa: S603 - wrk from Debian
            [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
             "--timeout", "10s", "-s", str(WRK_DIR / script), url],
            env=run_env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
        if line is None:
            raise SystemExit(f"wrk gave no summary for {name}:\n{out.stdout}\n{out.stderr}")
        results = json.loads(line.removeprefix("WRK_JSON "))
        waited = settle()
    seconds_run = results["duration_us"] / 1e6
    return Measure(
        name=name,
        rate=round(results["requests"] / seconds_run, 1),
        p50_ms=round(results["p50_us"] / 1000, 2),
        p99_ms=round(results["p99_us"] / 1000, 2),
        errors=results["non2xx"] + results["socket_errors"],
        requests=results["requests"],
        seconds=round(seconds_run, 1),
        extra={"connections": connections, "threads": threads, "settled_seconds": round(waited, 1)},
    )


def settle(timeout: float = 600) -> float:
    """Wait until the database runs nothing but us: requests wrk gave up on are still being
    served (gunicorn finishes them, PostgreSQL runs their queries) and would slow the next run.
    Returns the seconds waited."""
    import psycopg

    began = time.monotonic()
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = "
                "'client backend'"
            ).fetchone()
            if not row or not row[0] or time.monotonic() - began > timeout:
                break
            time.sleep(0.5)
    time.sleep(0.5)  # gunicorn writes the last responses
    return time.monotonic() - began


def pgbench(name: str, script: str, *, duration: int, clients: int, workdir: Path) -> Measure:
    """pgbench against the bench database with one custom script; its transactions per
    second and latency (pgbench's per-transaction log, so p50/p99 are exact)."""
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    path = workdir / f"{name.replace(' ', '_')}.sql"
    path.write_text(script, encoding="utf-8")
    log_prefix = workdir / "pgbench_log"
    for old in workdir.glob("pgbench_log*"):
        old.unlink()
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    out = subprocess.run(  # noqa: S603 - pgbench from Debian
        ["/usr/bin/pgbench", "-n", "-h", parts.hostname or "127.0.0.1",
         "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
         "-c", str(clients), "-j", "2", "-T", str(duration), "-f", str(path),
         "-l", "--log-prefix", str(log_prefix), parts.path.lstrip("/")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    tps = next(
        (x for x in out.stdout.splitlines() if x.startswith("tps =")),
        None,
    )
    if out.returncode != 0 or tps is None:
        raise SystemExit(f"pgbench {name} failed:\n{out.stdout}\n{out.stderr}")
    latencies = sorted(
        int(line.split()[2]) for log in workdir.glob("pgbench_log*") for line in log.open()
    )
    failed = sum(
        int(x.split(":")[1].split()[0])
        for x in out.stdout.splitlines()
        if x.startswith("number of failed")
    )
    return Measure(
        name=name,
        rate=round(float(tps.split()[2]), 1),
        unit="tx/s",
        p50_ms=round(_quantile(latencies, 0.5) / 1000, 2),
        p99_ms=round(_quantile(latencies, 0.99) / 1000, 2),
        errors=failed,
        requests=len(latencies),
        seconds=duration,
        extra={"clients": clients},
    )


def _quantile(values: list[int], q: float) -> float:
    return float(values[min(len(values) - 1, int(q * len(values)))]) if values else float("nan")


def _request(
    method: str, url: str, *, token: str | None = None, body: bytes | None = None
) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if method == "POST":
        headers["Idempotency-Key"] = f"bench-check-{time.time_ns()}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=120) as response:  # noqa: S310 - our server
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- Scenarios ------------------------------------------------------------------------------


@dataclass
class Context:
    base: str
    tokens: dict[str, Any]
    duration: int
    connections: int
    workdir: Path
    rss: RssSampler
    logs: Path
    n: int
    args: argparse.Namespace


def _ratio(row: Row) -> float | None:
    base = row.baselines[0].rate if row.baselines else 0
    return round(row.scenario.rate / base, 3) if base else None


def scenario_pages(ctx: Context) -> list[Row]:
    kw: dict[str, Any] = {"duration": ctx.duration, "connections": ctx.connections, "threads": 2}
    hello = wrk("bare Django HttpResponse", f"{ctx.base}/bench/hello/", "get.lua", **kw)
    rows = []
    for label, path in (("public home page", "/"), ("public self-check page", "/eligibility/")):
        status, _body = _request("GET", ctx.base + path)
        measure = wrk(label, ctx.base + path, "get.lua", **kw)
        row = Row(measure, [hello], "(reported)")
        row.ratio = _ratio(row)
        if status != 200:
            row.notes.append(f"GET {path} answered {status}")
        rows.append(row)
    return rows


def scenario_case_list(ctx: Context) -> Row:
    query = "?queue=standard&status=queued"
    token = ctx.tokens["officers"][0]
    api, bare = f"{ctx.base}/api/v1/cases/{query}", f"{ctx.base}/bench/cases/{query}"
    status, body = _request("GET", api, token=token)
    _s, bare_body = _request("GET", bare)
    notes = []
    if status != 200:
        notes.append(f"the case list answered {status}: {body[:300]!r}")
    else:
        api_refs = [r["reference"] for r in json.loads(body)["results"]]
        bare_refs = [r["reference"] for r in json.loads(bare_body)["results"]]
        if api_refs != bare_refs:
            notes.append("the baseline's rows differ from the API's")
        notes.append(f"{len(api_refs)} rows a page, queue=standard&status=queued")
    kw: dict[str, Any] = {"duration": ctx.duration, "connections": ctx.connections, "threads": 2}
    measure = wrk(
        "officer case list (API), 50 a page, filtered", api, "get.lua", env={"BENCH_TOKEN": token},
        **kw,
    )  # fmt: skip
    baseline = wrk("bare view, same 50 rows via values()", bare, "get.lua", **kw)
    row = Row(measure, [baseline], "≥1.0x, p50 <10 ms, p99 <50 ms", notes=notes)
    row.ratio = _ratio(row)
    row.met = bool(
        row.ratio is not None
        and row.ratio >= 1.0
        and (measure.p50_ms or 0) < 10
        and (measure.p99_ms or 0) < 50
        and not measure.errors
    )
    return row


def _sample_references(count: int) -> list[str]:
    """References of cases in a queue (visible to the bench officers), spread over the ids."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.reference FROM applications_application a "
            "JOIN screening_queueentry e ON e.application_id = a.id "
            "WHERE a.id %% %s = 0 LIMIT %s",
            [max(1, _count_applications() // (count * 2)), count],
        )
        return [r for (r,) in cursor.fetchall()]


def _count_applications() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM applications_application")
        (n,) = cursor.fetchone()
    return int(n or 0)


def scenario_case_detail(ctx: Context) -> Row:
    references = _sample_references(2000)
    api_paths = ctx.workdir / "detail_api.txt"
    bare_paths = ctx.workdir / "detail_bare.txt"
    api_paths.write_text("".join(f"/api/v1/cases/{r}/\n" for r in references))
    bare_paths.write_text("".join(f"/bench/cases/{r}/\n" for r in references))
    token = ctx.tokens["officers"][1]
    status, body = _request("GET", f"{ctx.base}/api/v1/cases/{references[0]}/", token=token)
    notes = [] if status == 200 else [f"case detail answered {status}: {body[:300]!r}"]
    if status == 200 and not (json.loads(body).get("screening") or {}).get("rules"):
        notes.append("the case has no screening explanation")
    kw: dict[str, Any] = {"duration": ctx.duration, "connections": ctx.connections, "threads": 2}
    measure = wrk(
        "case detail with screening explanation (API)", ctx.base, "get.lua",
        env={"BENCH_TOKEN": token, "BENCH_PATHS": str(api_paths)}, **kw,
    )  # fmt: skip
    baseline = wrk(
        "bare view, same row", ctx.base, "get.lua", env={"BENCH_PATHS": str(bare_paths)}, **kw
    )
    row = Row(measure, [baseline], "(reported)", notes=notes)
    row.ratio = _ratio(row)
    notes.append(f"{len(references)} different cases, in turn")
    return row


def _officer_ids() -> list[int]:
    from bench.seed import HTTP_OFFICERS, users

    return users("http-officer", HTTP_OFFICERS, officer=True)


def _release_held() -> None:
    """Put back the cases the bench officers hold (a run stops between claim and release)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE applications_application SET status = 'queued' WHERE id IN (SELECT "
            "application_id FROM screening_queueentry WHERE claimed_by_id = ANY(%s) "
            "AND state = 'in_review')",
            [_officer_ids()],
        )
        cursor.execute(
            "UPDATE screening_queueentry SET state = 'waiting', claimed_by_id = NULL, "
            "claimed_at = NULL, lease_expires_at = NULL WHERE claimed_by_id = ANY(%s) "
            "AND state = 'in_review'",
            [_officer_ids()],
        )
        cursor.execute("VACUUM (ANALYZE) screening_queueentry")


def scenario_claim(ctx: Context) -> Row:
    from policy.models import ReviewQueue

    officers = 32
    tokens = ctx.workdir / "tokens.txt"
    tokens.write_text("\n".join(ctx.tokens["officers"][:officers]) + "\n")
    queue_id = ReviewQueue.objects.get(code="standard").pk
    _release_held()
    kw: dict[str, Any] = {"duration": ctx.duration, "connections": officers, "threads": officers}
    measure = wrk(
        "claim next + release (API), 32 officers", ctx.base, "claim.lua",
        env={"BENCH_TOKENS": str(tokens), "BENCH_QUEUE": "standard"}, **kw,
    )  # fmt: skip
    document = ctx.workdir / "small.json"
    document.write_text('{"note": "claim"}')
    create = wrk(
        "minimal DRF create endpoint", f"{ctx.base}/bench/documents/", "post.lua",
        env={"BENCH_TOKEN": ctx.tokens["officers"][0], "BENCH_BODY": str(document)}, **kw,
    )  # fmt: skip
    ids = ",".join(str(pk) for pk in _officer_ids()[:officers])
    _release_held()  # wrk stops between a claim and its release
    raw = pgbench(
        "raw SQL claim + release (FOR UPDATE SKIP LOCKED), pgbench",
        f"""\\set q {queue_id}
BEGIN;
SELECT id AS eid FROM screening_queueentry WHERE queue_id = :q AND state = 'waiting'
    ORDER BY priority DESC, entered_at LIMIT 1 FOR UPDATE SKIP LOCKED \\gset
UPDATE screening_queueentry SET state = 'in_review',
    claimed_by_id = (ARRAY[{ids}])[:client_id + 1], claimed_at = now(),
    lease_expires_at = now() + interval '30 minutes', updated_at = now() WHERE id = :eid;
COMMIT;
UPDATE screening_queueentry SET state = 'waiting', claimed_by_id = NULL, claimed_at = NULL,
    lease_expires_at = NULL, updated_at = now() WHERE id = :eid;
""",  # noqa: S608 - a pgbench script from our own ids
        duration=ctx.duration,
        clients=officers,
        workdir=ctx.workdir,
    )
    row = Row(measure, [create, raw], "≥0.8x minimal DRF create")
    row.ratio = _ratio(row)
    row.met = bool(row.ratio is not None and row.ratio >= 0.8)
    row.notes.append(
        "API figures count requests: claims and releases in turn, one POST each; pgbench "
        "counts a claim + release pair as one transaction"
    )
    return row


def _filing_document() -> dict[str, Any]:
    from integrations.filing_apis import EXAMPLE

    document = json.loads(json.dumps(EXAMPLE))
    document["applicant_email"] = "bench-filed-{{n}}@bench.kvisa.test"
    document["sections"]["contact"]["contact_email"] = "bench-filed-{{n}}@bench.kvisa.test"
    return document


def _broker_depth() -> int:
    import redis
    from django.conf import settings

    depth: Any = redis.Redis.from_url(settings.CELERY_BROKER_URL).llen("celery")
    return int(depth)


def _broker_purge() -> None:
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")


def scenario_submit(ctx: Context) -> Row:
    document = _filing_document()
    template = json.dumps(document)
    body = ctx.workdir / "filing.json"
    body.write_text(template)
    token = ctx.tokens["client"]
    check = template.replace("{{n}}", f"check-{time.time_ns()}").encode()
    status, answer = _request("POST", f"{ctx.base}/api/v1/applications/", token=token, body=check)
    notes = [] if status == 201 else [f"the filing answered {status}: {answer[:400]!r}"]
    _broker_purge()
    kw: dict[str, Any] = {"duration": ctx.duration, "connections": ctx.connections, "threads": 2}
    measure = wrk(
        "submit a complete application (API, integration client)",
        f"{ctx.base}/api/v1/applications/", "post.lua",
        env={"BENCH_TOKEN": token, "BENCH_BODY": str(body)}, warmup=0, **kw,
    )  # fmt: skip
    messages = _broker_depth()
    _broker_purge()
    accepted = (measure.requests or 0) - (measure.errors or 0)
    measure.extra["broker_messages"] = messages
    measure.extra["broker_messages_per_request"] = (
        round(messages / accepted, 3) if accepted else None
    )
    create = wrk(
        "minimal DRF create of the same JSON document", f"{ctx.base}/bench/documents/",
        "post.lua", env={"BENCH_TOKEN": token, "BENCH_BODY": str(body)}, **kw,
    )  # fmt: skip
    literal = template.replace("{{n}}", "raw").replace("'", "''")
    raw = pgbench(
        "raw INSERT of the document, pgbench",
        f"INSERT INTO bench_document (body) VALUES ('{literal}'::jsonb);\n",  # noqa: S608 - ours
        duration=ctx.duration,
        clients=ctx.connections,
        workdir=ctx.workdir,
    )
    row = Row(measure, [create, raw], "≥0.5x minimal DRF create, one broker message each")
    row.ratio = _ratio(row)
    per = measure.extra["broker_messages_per_request"]
    notes.append(f"broker messages per accepted filing: {per}")
    row.notes = notes
    row.met = bool(row.ratio is not None and row.ratio >= 0.5 and per == 1)
    return row


def _pipeline_reset(ids: list[int]) -> None:
    """Put the applications back to submitted-and-not-screened, as seeded."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM screening_screening WHERE application_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM screening_queueentry WHERE application_id = ANY(%s)", [ids])
        cursor.execute(
            "DELETE FROM applications_timelineevent WHERE application_id = ANY(%s) "
            "AND kind <> 'created' AND NOT (kind = 'status' AND to_status = 'submitted')",
            [ids],
        )
        cursor.execute(
            "UPDATE applications_application SET status = 'submitted' WHERE id = ANY(%s)", [ids]
        )


def _count(sql: str, params: list[Any]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (n,) = cursor.fetchone()
    return int(n)


def _drain(what: str, done: Callable[[], int], total: int, timeout: float) -> float:
    """Seconds until done() reaches total (polled every 0.1 s)."""
    began = time.perf_counter()
    while done() < total:
        if time.perf_counter() - began > timeout:
            raise SystemExit(f"{what}: {done()} of {total} after {timeout:.0f} s")
        time.sleep(0.1)
    return time.perf_counter() - began


def scenario_pipeline(ctx: Context) -> Row:
    import redis
    from django.conf import settings

    from applications.tasks import application_submitted
    from bench.celery_app import COUNTER, noop
    from bench.seed import pipeline_ids
    from ops.queueing import enqueue

    ids = pipeline_ids(ctx.n)[: ctx.args.pipeline]
    if not ids:
        raise SystemExit("no seeded submitted applications to screen: seed a larger N")
    _pipeline_reset(ids)
    _broker_purge()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    tasks = ctx.args.noop_tasks
    with celery_worker(ctx.logs, ctx.rss, ctx.args.worker_concurrency):
        client.set(COUNTER, 0)
        began = time.perf_counter()
        for _ in range(tasks):
            noop.delay()
        noop_seconds = time.perf_counter() - began
        done: Callable[[], int] = lambda: int(cast(Any, client.get(COUNTER)) or 0)  # noqa: E731
        noop_seconds += _drain("no-op tasks", done, tasks, 300)
        baseline = Measure(
            "Celery no-op task, same broker and worker", round(tasks / noop_seconds, 1),
            unit="tasks/s", requests=tasks, seconds=round(noop_seconds, 2),
        )  # fmt: skip
        queued = (
            "SELECT count(*) FROM applications_application WHERE id = ANY(%s) AND status = 'queued'"
        )
        began = time.perf_counter()
        for pk in ids:
            enqueue(application_submitted, pk)
        seconds = _drain("screening", lambda: _count(queued, [ids]), len(ids), 900)
        mailed = _drain(
            "confirmation emails",
            lambda: _count(
                "SELECT count(*) FROM applications_timelineevent WHERE application_id = ANY(%s)"
                " AND kind = 'confirmation_sent'",
                [ids],
            ),
            len(ids),
            900,
        )
    measure = Measure(
        "screening pipeline: submitted → queued, one worker box",
        round(len(ids) / seconds, 1), unit="apps/s", requests=len(ids), seconds=round(seconds, 2),
        extra={"tasks_done_seconds": round(seconds + mailed, 2),
               "worker_concurrency": ctx.args.worker_concurrency},
    )  # fmt: skip
    row = Row(measure, [baseline], "≥0.5x no-op task rate")
    row.ratio = _ratio(row)
    row.met = bool(row.ratio is not None and row.ratio >= 0.5)
    row.notes.append(
        f"{len(ids)} applications (each task also sends the confirmation email: all done "
        f"{seconds + mailed:.1f} s after the first publish); {tasks} no-op tasks"
    )
    return row


def scenario_simulation(ctx: Context) -> Row:
    import psutil
    from django.db import connection

    from bench import policy_simulation

    before = psutil.Process()
    peak = [0]
    stop = threading.Event()

    def sample() -> None:  # the pool's processes do the worker's job: their RSS is a worker's
        while not stop.wait(0.2):
            for child in before.children(recursive=True):
                with suppress(psutil.NoSuchProcess):
                    peak[0] = max(peak[0], child.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run = policy_simulation.simulate(ctx.args.sim_processes)
    finally:
        stop.set()
        sampler.join()
    ctx.rss.peaks["simulation"] = {"main": 0, "child": peak[0]}
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(points), sum((facts->>'publications')::int), "
            "count(*) FILTER (WHERE eligible AND fast_track) "
            "FROM screening_screening WHERE is_current"
        )
        (rows, *_rest) = cursor.fetchone()
    aggregate = time.perf_counter() - began
    measure = Measure(
        f"policy simulation over {run['rows']:,} applications ({ctx.args.sim_processes} proc.)",
        run["rows_per_second"], unit="rows/s", requests=run["rows"], seconds=run["seconds"],
        extra={"chunks": run["chunks"], "plan_seconds": run["plan_seconds"]},
    )  # fmt: skip
    baseline = Measure(
        "one SQL aggregate over the same rows", round(rows / aggregate, 1), unit="rows/s",
        requests=int(rows), seconds=round(aggregate, 3),
    )  # fmt: skip
    row = Row(measure, [baseline], "1M in <30 s")
    row.ratio = _ratio(row)
    projected = run["seconds"] * 1_000_000 / max(run["rows"], 1)
    row.met = projected < 30
    row.notes.append(f"{run['seconds']:.1f} s for {run['rows']:,} rows: {projected:.1f} s at 1M")
    return row


# --- Output ---------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row], rss: dict[str, dict[str, Any]]) -> list[list[str]]:
    out = [["scenario / baseline", "rate", "p50 ms", "p99 ms", "errors", "ratio", "target",
            "met"]]  # fmt: skip
    for row in rows:
        s = row.scenario
        out.append([
            s.name, f"{_fmt(s.rate)} {s.unit}", _fmt(s.p50_ms, 2), _fmt(s.p99_ms, 2),
            "—" if s.errors is None else str(s.errors),
            "—" if row.ratio is None else f"{row.ratio:.2f}x", row.target,
            {True: "met", False: "NOT MET", None: "—"}[row.met],
        ])  # fmt: skip
        for k, b in enumerate(row.baselines):
            out.append([
                f"  ↳ {'baseline' if k == 0 else 'also'}: {b.name}", f"{_fmt(b.rate)} {b.unit}",
                _fmt(b.p50_ms, 2), _fmt(b.p99_ms, 2),
                "—" if b.errors is None else str(b.errors), "", "", "",
            ])  # fmt: skip
    for role, label in (("web", "web (gunicorn)"), ("worker", "worker (celery)"),
                        ("simulation", "simulation pool (worker code)")):  # fmt: skip
        peak = rss.get(role)
        if not peak:
            continue
        child = peak["child"] / MB
        out.append([
            f"peak RSS, {label}", f"{child:.0f} MB a child" + (
                f", {peak['main'] / MB:.0f} MB main" if peak["main"] else ""),
            "", "", "", "", "<250 MB", "met" if child < 250 and peak["main"] / MB < 250
            else "NOT MET",
        ])  # fmt: skip
    return out


def _print_table(cells: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _markdown(report: dict[str, Any], cells: list[list[str]]) -> str:
    lines = [
        f"# HTTP benchmark, {report['date']}",
        "",
        f"{report['n']:,} applications in `{report['database']}`; {report['machine']['cpus']} "
        f"CPUs; Python {report['machine']['python']}; PostgreSQL {report['postgres']}; "
        f"{report['duration']} s a load run, {report['connections']} connections (claim: 32 "
        f"officers); gunicorn with kvisa/gunicorn.conf.py ({report['gunicorn']}).",
        "",
        "| " + " | ".join(cells[0]) + " |",
        "|" + "---|" * len(cells[0]),
        *["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells[1:]],
        "",
        "Notes:",
        "",
        *[
            f"- {row['scenario']['name']}: {note}"
            for row in report["rows"]
            for note in row["notes"]
        ],
        "",
    ]
    return "\n".join(lines)


SCENARIOS = ("pages", "case_list", "case_detail", "claim", "submit", "pipeline", "simulation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each load run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pipeline", type=int, default=1000, help="applications to screen")
    parser.add_argument("--noop-tasks", type=int, default=3000, help="no-op tasks of the baseline")
    parser.add_argument("--worker-concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sim-processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    parser.add_argument("--label", default="", help="appended to the result files' names")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if unknown := set(chosen) - set(SCENARIOS):
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")

    url = database_setup()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from applications.models import Application
    from bench.baselines import tables_create
    from bench.seed import tokens_issue

    assert not settings.DEBUG
    import logging

    logging.getLogger("django_structlog").setLevel(logging.WARNING)  # a line per task published
    n = Application.objects.count()
    if not n:
        sys.exit("the bench database is empty: run `make bench-seed N=...` first")
    tables_create()
    tokens = tokens_issue()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (server_version,) = cursor.fetchone()
    connection.close()  # the simulation's pool forks: no connection to inherit

    rss = RssSampler()
    rss.start()
    rows: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="kvisa-bench-"))
    logs = workdir / "logs"
    logs.mkdir()
    print(f"{n:,} applications; load runs of {args.duration} s; logs in {logs}")
    began = time.perf_counter()
    with gunicorn(args.port, logs, rss) as base:
        ctx = Context(base, tokens, args.duration, args.connections, workdir, rss, logs, n, args)
        runners: dict[str, Callable[[Context], Row | list[Row]]] = {
            "pages": scenario_pages,
            "case_list": scenario_case_list,
            "case_detail": scenario_case_detail,
            "claim": scenario_claim,
            "submit": scenario_submit,
            "pipeline": scenario_pipeline,
            "simulation": scenario_simulation,
        }
        for name in chosen:
            print(f"-- {name}", flush=True)
            result = runners[name](ctx)
            for row in result if isinstance(result, list) else [result]:
                rows.append(row)
                ratio = "" if row.ratio is None else f" ({row.ratio:.2f}x baseline)"
                print(f"   {row.scenario.name}: {row.scenario.rate:,.1f} {row.scenario.unit}"
                      f"{ratio}", flush=True)  # fmt: skip
                for note in row.notes:
                    print(f"   note: {note}")
    rss.stop()
    cells = table(rows, rss.peaks)
    print()
    print(_print_table(cells))
    now = datetime.now(UTC)
    report = {
        "benchmark": "http",
        "date": now.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": os.getloadavg(),
        },
        "postgres": server_version,
        "database": urlsplit(url).path.lstrip("/"),
        "n": n,
        "duration": args.duration,
        "connections": args.connections,
        "gunicorn": (
            f"WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', 'default')}, "
            f"GUNICORN_THREADS={os.environ.get('GUNICORN_THREADS', 'default')}"
        ),
        "seconds": round(time.perf_counter() - began, 1),
        "rows": [asdict(row) for row in rows],
        "peak_rss_mb": {
            role: {k: round(v / MB, 1) for k, v in peak.items()} for role, peak in rss.peaks.items()
        },
        "table": cells,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = args.output_dir / "-".join(
        part for part in ("bench", now.date().isoformat(), args.label) if part
    )
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(_markdown(report, cells), encoding="utf-8")
    print(f"\nwrote {stem}.json and .md ({report['seconds']:.0f} s)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
