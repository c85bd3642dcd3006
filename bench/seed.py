"""The benchmarks' shared seeder: N applications of a system that has run for a year.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kvisa_bench_http \\
        .venv/bin/python bench/seed.py --n 1000000

Used by ``make bench-seed`` (for the HTTP harness, bench/harness.py) and by claim_next.py.
Everything is ``INSERT ... SELECT`` over ``generate_series``, 100,000 rows a transaction, with
deterministic per-row pseudo-random values (``hashint8extended``), so an interrupted seeding
resumes where it stopped and application i always has id i and the same values. The rows are
what the real code paths would have written: applications with their signed snapshot and
degrees, queue entries, the current screening (facts, the engine's explained evaluation, flags,
routing) and the timeline. Screening results come from a few thousand applicant profiles that
the real rule engine and router evaluate once in Python (``profiles_build``); each application
takes one profile of the queue it is in, so its screening, its queue and its answers agree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvisa.settings")

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
PROFILES = 2048  # distinct applicant profiles the engine evaluates


def database_setup() -> str:
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


def emails(kind: str, count: int) -> list[str]:
    return [f"bench-{kind}-{i:04d}@{EMAIL_DOMAIN}" for i in range(count)]


def users(kind: str, count: int, *, officer: bool) -> list[int]:
    """The bench users of one kind (created when missing), officers in the officer group."""
    from django.contrib.auth.models import Group

    from accounts.models import User

    addresses = emails(kind, count)
    rows = [User(email=e, full_name=f"Bench {kind} {i}") for i, e in enumerate(addresses)]
    for user in rows:
        user.set_unusable_password()
    User.objects.bulk_create(rows, ignore_conflicts=True)
    ids = dict(User.objects.filter(email__in=addresses).values_list("email", "pk"))
    pks = [ids[e] for e in addresses]
    if officer:
        group = Group.objects.get(name="officer")
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=pk, group_id=group.pk) for pk in pks], ignore_conflicts=True
        )
    return pks


def join_queues(user_ids: list[int]) -> None:
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


def _constants(model: Any, template: Any) -> dict[str, tuple[Any, str]]:
    """Every column of `model` with the value the ORM would write for `template` (defaults,
    encryption, JSON) and its SQL type for the cast, so a new NOT NULL column is filled
    without touching the seeder."""
    from django.db import connection

    return {
        str(f.column): (f.get_db_prep_save(f.pre_save(template, add=True), connection),
                        str(f.db_type(connection)))
        for f in model._meta.concrete_fields
    }  # fmt: skip


def _application_constants() -> dict[str, tuple[Any, str]]:
    """Application's columns as the ORM writes them for a typical submitted application."""
    from applications.models import Application

    template = Application(
        applicant_id=1,
        family_name="BENCH",
        given_names="Case",
        sex="X",
        place_of_birth="Bench City",
        passport_number="E12345678",
        passport_issuing_country="IN",
        passport_issue_date=date(2022, 1, 10),
        passport_expiry_date=date(2033, 1, 9),
        contact_email=f"applicant@{EMAIL_DOMAIN}",
        phone="+8613800000000",
        address_line="1 Bench Road",
        city="Bench City",
        postal_code="100000",
        country_of_residence="IN",
        employer_name="Bench University",
        job_title="Researcher",
        declarations_accepted=True,
        signature_name="Case BENCH",
        intended_activities=["science"],
        planned_entry_date=date(2027, 3, 1),
        planned_stay_days=90,
        previous_visits=False,
        previous_refusals=False,
        snapshot={},
    )
    return _constants(Application, template)


def _sql_values(
    constants: dict[str, tuple[Any, str]], varying: dict[str, str], params: dict[str, Any], tag: str
) -> tuple[str, str]:
    """The column list and the SELECT list of an INSERT ... SELECT: varying columns by SQL
    expression, the others as the ORM's value, passed as parameters."""
    columns, values = [], []
    for column, (value, db_type) in constants.items():
        if column == "id" and column not in varying:
            continue
        columns.append(f'"{column}"')
        if column in varying:
            values.append(varying[column])
        else:
            params[f"{tag}_{column}"] = value
            values.append(f"%({tag}_{column})s::{db_type}")
    return ", ".join(columns), ", ".join(values)


# --- Profiles: what the rule engine and the router make of a few thousand applicants ---------


def _random_facts(
    rng: random.Random, fields: list[int], institutions: list[int], submitted: date
) -> dict[str, Any]:
    """An applicant's facts (as policy_simulation.py draws them; a degree always has a field
    from the list, as Degree.field is required)."""
    age = int(rng.triangular(19, 58, 31))
    born = submitted - timedelta(days=age * 365 + rng.randrange(365))
    researcher = rng.random() < 0.2

    def institution() -> int | None:  # a quarter typed a university not on the list
        return None if rng.random() < 0.25 else rng.choice(institutions)

    degrees = [
        {"level": "bachelor", "field_id": rng.choice(fields), "institution_id": institution()}
    ]
    if rng.random() < 0.6:
        degrees.append(
            {"level": "master", "field_id": rng.choice(fields), "institution_id": institution()}
        )
        if rng.random() < 0.35:
            degrees.append(
                {"level": "doctorate", "field_id": rng.choice(fields),
                 "institution_id": institution()}
            )  # fmt: skip
    return {
        "path": "researcher" if researcher else "graduate",
        "date_of_birth": born.isoformat(),
        "reference_date": submitted.isoformat(),
        "degrees": degrees,
        "post_is_stem": (rng.random() < 0.85) if researcher else None,
        # one in twelve posts is outside the STEM list
        "post_field_id": (None if rng.random() < 0.08 else rng.choice(fields))
        if researcher
        else None,
        "post_institution_id": institution() if researcher else None,
        "years_experience": min(int(rng.expovariate(1 / 5)), 30),
        "hsk_level": rng.randint(1, 6) if rng.random() < 0.3 else None,
        "taught_in_chinese": rng.random() < 0.05,
        "publications": min(int(rng.expovariate(1 / 2)), 40),
        "patents": min(int(rng.expovariate(1 / 0.3)), 10),
    }


def _snapshot(facts: dict[str, Any], names: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    """The signed answers (applications.answers.application_answers' shape) behind `facts`."""
    born = date.fromisoformat(facts["date_of_birth"])

    def ref(kind: str, pk: int | None) -> dict[str, Any] | None:
        return {"id": pk, **names[kind][pk]} if pk else None

    degrees = []
    for index, d in enumerate(facts["degrees"]):
        started = date(born.year + 18 + 4 * index, 9, 1)
        degrees.append(
            {
                "level": d["level"],
                "field": ref("fields", d["field_id"]),
                "institution": ref("institutions", d["institution_id"]),
                "institution_other": "" if d["institution_id"] else "Bench Institute",
                "country": "IN",
                "started_on": started.isoformat(),
                "awarded_on": date(started.year + 4, 7, 1).isoformat(),
                "documents_in_zh_or_en": True,
            }
        )
    return {
        "version": 1,
        "path": {"path": facts["path"]},
        "personal": {
            "family_name": "BENCH", "given_names": "Case", "native_name": "", "sex": "X",
            "date_of_birth": facts["date_of_birth"], "place_of_birth": "Bench City",
            "nationality": "IN",
        },
        "passport": {
            "passport_number": "•••••5678", "passport_issuing_country": "IN",
            "passport_issue_date": "2022-01-10", "passport_expiry_date": "2033-01-09",
        },
        "contact": {
            "contact_email": f"applicant@{EMAIL_DOMAIN}", "phone": "+8613800000000",
            "address_line": "1 Bench Road", "city": "Bench City", "postal_code": "100000",
            "country_of_residence": "IN",
        },
        "education": {"degrees": degrees},
        "career": {
            "employer_name": "Bench University",
            "employer_institution": ref("institutions", facts["post_institution_id"]),
            "job_title": "Researcher",
            "post_is_stem_teaching_research": facts["post_is_stem"],
            "post_field": ref("fields", facts["post_field_id"]),
            "post_since": None, "years_experience": facts["years_experience"],
            "publications_count": facts["publications"], "patents_count": facts["patents"],
            "research_summary": "",
        },
        "language": {
            "hsk_level": facts["hsk_level"], "degree_taught_in_chinese": facts["taught_in_chinese"],
        },
        "travel": {
            "intended_activities": ["science"], "planned_entry_date": "2027-03-01",
            "planned_stay_days": 90, "previous_visits": False, "previous_visits_details": "",
            "previous_refusals": False, "previous_refusals_details": "",
        },
        "documents": {"documents": []},
    }  # fmt: skip


def profiles_build(count: int = PROFILES) -> dict[str, int]:
    """(Re)write the table bench_profile: `count` applicant profiles with their facts, answers
    and degrees, and what the real engine (explained, as the pipeline runs it) and router make
    of them. Returns how many profiles each queue got."""
    from django.db import connection

    from policy.engine import Facts, RoutingInput, evaluate, in_both_languages
    from policy.models import Institution, ReviewQueue, StemField
    from policy.selectors import engine_lists, policy_in_force
    from screening.services import routed_queue_code

    policy = policy_in_force()
    lists = engine_lists()
    names: dict[str, dict[int, dict[str, Any]]] = {
        "fields": {r["pk"]: {"name_en": r["name_en"], "name_zh": r["name_zh"]}
                   for r in StemField.objects.values("pk", "name_en", "name_zh")},
        "institutions": {r["pk"]: {"name_en": r["name_en"], "name_zh": r["name_zh"]}
                         for r in Institution.objects.values("pk", "name_en", "name_zh")},
    }  # fmt: skip
    queues = dict(ReviewQueue.objects.filter(is_active=True).values_list("code", "pk"))
    rng = random.Random(7)  # noqa: S311 - sample data, the same profiles every time
    rows = []
    for k in range(count):
        submitted = date(2026, 1, 1) + timedelta(days=k % 300)
        facts_json = _random_facts(
            rng, list(names["fields"]), list(names["institutions"]), submitted
        )
        facts = Facts.from_json(facts_json)
        result = evaluate(
            facts=facts, criteria=policy.criteria, points_model=policy.points_model, lists=lists
        )
        complete = rng.random() < 0.98
        missing = (
            []
            if complete
            else [{"step": "documents", "en": "A passport scan is required.",
                   "zh-hans": "需要护照扫描件。"}]
        )  # fmt: skip
        flags: list[dict[str, Any]] = []
        if rng.random() < 0.03:
            flags.append(
                {
                    "code": "duplicate_passport",
                    "explanation": in_both_languages(
                        "The same passport is on %(count)s other open application(s).",  # type: ignore[arg-type]
                        {"count": 1},
                    ),
                    "related": [],
                }
            )
        index, rule, code = routed_queue_code(
            policy.routing_rules,
            RoutingInput(
                path=facts.path, eligible=result.eligible, fast_track=result.fast_track,
                points=result.points, complete=complete, flags=tuple(str(f["code"]) for f in flags),
            ),
            active_queues=queues,
        )  # fmt: skip
        snapshot = _snapshot(facts_json, names)
        rows.append(
            (
                k, queues[code], code, facts.path, facts.date_of_birth, json.dumps(facts_json),
                json.dumps(result.to_json()), result.eligible, result.points, result.fast_track,
                complete, json.dumps(missing), json.dumps(flags),
                json.dumps({"rule_index": index, "rule": dict(rule), "queue": code}),
                int(rule.get("priority_boost", 0)), json.dumps(snapshot),
                json.dumps(snapshot["education"]["degrees"]),
                facts_json["post_field_id"], facts_json["post_institution_id"],
                facts_json["post_is_stem"], facts_json["years_experience"],
                facts_json["publications"], facts_json["patents"], facts_json["hsk_level"],
                facts_json["taught_in_chinese"],
            )
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_profile")
        cursor.execute(
            """CREATE TABLE bench_profile (id int PRIMARY KEY, queue_id bigint, queue_code text,
            path text, date_of_birth date, facts jsonb, evaluation jsonb, eligible boolean,
            points smallint, fast_track boolean, complete boolean, missing jsonb, flags jsonb,
            routing jsonb, priority_boost int, snapshot jsonb, degrees jsonb,
            post_field_id bigint, post_institution_id bigint, post_is_stem boolean,
            years_experience smallint, publications smallint, patents smallint,
            hsk_level smallint, taught_in_chinese boolean)"""
        )
        with cursor.cursor.copy("COPY bench_profile FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # Which profiles an application in each queue of QUEUE_MIX takes: the ones routed
        # there; returned evidence comes back to a case routed to the standard queue; a queue
        # no profile routes to takes any.
        cursor.execute("DROP TABLE IF EXISTS bench_profile_pick")
        cursor.execute(
            "CREATE TABLE bench_profile_pick (queue_id bigint, k int, profile_id int, "
            "PRIMARY KEY (queue_id, k))"
        )
        taken: dict[str, int] = {}
        for code, _share in QUEUE_MIX:
            source = "standard" if code == settings_returned_queue() else code
            cursor.execute(
                "INSERT INTO bench_profile_pick SELECT %s, row_number() OVER (ORDER BY id) - 1, "
                "id FROM bench_profile WHERE queue_code = %s",
                [queues[code], source],
            )
            if not cursor.rowcount:
                cursor.execute(
                    "INSERT INTO bench_profile_pick SELECT %s, id, id FROM bench_profile",
                    [queues[code]],
                )
            taken[code] = cursor.rowcount
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_profile_count AS SELECT 0::bigint AS queue_id, "
            "0::int AS n LIMIT 0"
        )
        cursor.execute("TRUNCATE bench_profile_count")
        cursor.execute(
            "INSERT INTO bench_profile_count SELECT queue_id, count(*) FROM bench_profile_pick "
            "GROUP BY queue_id"
        )
    return taken


def settings_returned_queue() -> str:
    from django.conf import settings

    return str(settings.RETURNED_EVIDENCE_QUEUE)


def _screening_constants() -> dict[str, tuple[Any, str]]:
    from screening.models import Screening

    return _constants(Screening, Screening(application_id=1, policy_version_id=1))


def _degree_constants() -> dict[str, tuple[Any, str]]:
    from applications.models import Degree

    return _constants(
        Degree,
        Degree(application_id=1, level="bachelor", field_id=1, country="IN",
               started_on=date(2015, 9, 1), awarded_on=date(2019, 7, 1)),
    )  # fmt: skip


def _seed_batch(
    cursor: Any, lo: int, hi: int, *, anchor: datetime, applicants: list[int], actors: list[int]
) -> None:
    """Applications lo..hi (their id is their row number), their degrees, queue entries,
    current screenings and timeline."""
    from policy.models import ReviewQueue

    queues = dict(ReviewQueue.objects.values_list("code", "pk"))
    status = _pick(_uniform(1), STATUS_MIX, {s: f"'{s}'" for s, _share in STATUS_MIX})
    queue = _pick(_uniform(2), QUEUE_MIX, {code: str(queues[code]) for code, _s in QUEUE_MIX})
    # The profile of row g.i: one of those its queue takes (bench_profile_pick).
    profile = f"""CROSS JOIN LATERAL (SELECT {queue} AS queue_id) qp
        JOIN bench_profile_count pc ON pc.queue_id = qp.queue_id
        JOIN bench_profile_pick pp ON pp.queue_id = qp.queue_id
            AND pp.k = mod(hashint8extended(g.i, 12) & 2147483647, pc.n)
        JOIN bench_profile p ON p.id = pp.profile_id"""
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
        "path": "p.path",
        "nationality": "nat.code",
        "passport_digest": "md5(g.i::text)",
        "date_of_birth": "p.date_of_birth",
        "post_field_id": "p.post_field_id",
        "employer_institution_id": "p.post_institution_id",
        "post_is_stem_teaching_research": "p.post_is_stem",
        "years_experience": "p.years_experience",
        "publications_count": "p.publications",
        "patents_count": "p.patents",
        "hsk_level": "p.hsk_level",
        "degree_taught_in_chinese": "p.taught_in_chinese",
        # drafts are not signed yet: no snapshot
        "snapshot": "CASE WHEN submitted_at IS NULL THEN NULL ELSE "
        "jsonb_set(p.snapshot, '{personal,nationality}', to_jsonb(nat.code)) END",
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
    params: dict[str, Any] = {
        "anchor": anchor, "policy": _policy_id(), "applicants": applicants,
        "lo": lo, "hi": hi, "actors": actors,
    }  # fmt: skip
    columns, values = _sql_values(_application_constants(), varying, params, "a")
    cursor.execute(
        f"""
        INSERT INTO applications_application ({columns})
        SELECT {values}
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g(i)
        {profile}
        CROSS JOIN LATERAL (SELECT {nationality} AS code) nat
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
    # Degrees: the profile's, as the applicant entered them.
    degree_columns, degree_values = _sql_values(
        _degree_constants(),
        {
            "application_id": "a.id",
            "level": "d.value->>'level'",
            "field_id": "(d.value->'field'->>'id')::bigint",
            "institution_id": "(d.value->'institution'->>'id')::bigint",
            "institution_other": "d.value->>'institution_other'",
            "started_on": "(d.value->>'started_on')::date",
            "awarded_on": "(d.value->>'awarded_on')::date",
        },
        params,
        "d",
    )
    cursor.execute(
        f"""
        INSERT INTO applications_degree ({degree_columns})
        SELECT {degree_values}
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g(i)
        JOIN applications_application a ON a.id = g.i
        {profile}
        CROSS JOIN LATERAL jsonb_array_elements(p.degrees) WITH ORDINALITY AS d(value, n)
        ORDER BY a.id, d.n
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
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g(i)
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
    # The current screening of every routed case, step by step as the pipeline stamps it.
    screening_columns, screening_values = _sql_values(
        _screening_constants(),
        {
            "application_id": "a.id",
            "policy_version_id": "%(policy)s",
            "created_at": "a.submitted_at + interval '1 minute'",
            "attempts": "1",
            "attempted_at": "a.submitted_at + interval '1 minute'",
            "completeness_at": "a.submitted_at + interval '2 minutes'",
            "complete": "p.complete",
            "missing": "p.missing",
            "eligibility_at": "a.submitted_at + interval '3 minutes'",
            "facts": "p.facts",
            "eligible": "p.eligible",
            "points": "p.points",
            "fast_track": "p.fast_track",
            "evaluation": "p.evaluation",
            "integrity_at": "a.submitted_at + interval '4 minutes'",
            "flags": "p.flags",
            "routed_at": "e.entered_at",
            "queue_id": "p.queue_id",
            "routing": "p.routing",
        },
        params,
        "s",
    )
    cursor.execute(
        f"""
        INSERT INTO screening_screening ({screening_columns})
        SELECT {screening_values}
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g(i)
        JOIN applications_application a ON a.id = g.i
        JOIN screening_queueentry e ON e.application_id = a.id
        {profile}
        """,  # noqa: S608 - built from constants and the model's own columns
        params,
    )
    # The timeline: created, submitted, screened, queued, claimed, decided / withdrawn.
    cursor.execute(
        f"""
        INSERT INTO applications_timelineevent (at, kind, from_status, to_status, message,
            public, data, actor_id, application_id)
        SELECT t.at, t.kind, t.from_status, t.to_status, '', t.public, t.data, t.actor, a.id
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g(i)
        JOIN applications_application a ON a.id = g.i
        LEFT JOIN screening_queueentry e ON e.application_id = a.id
        LEFT JOIN screening_screening sc ON sc.application_id = a.id AND sc.is_current
        LEFT JOIN policy_reviewqueue q ON q.id = sc.queue_id
        CROSS JOIN LATERAL (
            SELECT (%(actors)s::bigint[])[1 + mod(g.i, {len(actors)})] AS officer,
                a.applicant_id AS applicant, '{{}}'::jsonb AS empty,
                jsonb_build_object('screening', sc.id, 'eligible', sc.eligible, 'points',
                    sc.points, 'fast_track', sc.fast_track, 'flags',
                    coalesce((SELECT jsonb_agg(f->'code') FROM jsonb_array_elements(sc.flags) f),
                        '[]'::jsonb),
                    'queue', q.code, 'due_at', e.due_at) AS screened
        ) who
        CROSS JOIN LATERAL (VALUES
            (a.created_at, 'created', '', 'draft', true, who.applicant, who.empty, true),
            (a.submitted_at, 'status', 'draft', 'submitted', true, who.applicant, who.empty,
                a.submitted_at IS NOT NULL),
            (e.entered_at, 'screened', '', '', false, NULL, who.screened, sc.id IS NOT NULL),
            (e.entered_at, 'status', 'submitted', 'queued', true, NULL, who.empty,
                e.id IS NOT NULL),
            (a.decided_at - interval '2 days', 'status', 'queued', 'in_review', true,
                who.officer, who.empty, a.decided_at IS NOT NULL),
            (a.decided_at, 'status', 'in_review', a.status, true, who.officer, who.empty,
                a.decided_at IS NOT NULL),
            (a.withdrawn_at, 'status', CASE WHEN e.id IS NULL THEN 'submitted'
                ELSE 'queued' END, 'withdrawn', true, who.applicant, who.empty,
                a.withdrawn_at IS NOT NULL)
        ) AS t(at, kind, from_status, to_status, public, actor, data, present)
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


def seed(n: int, *, holders: list[int], analyze: bool = True) -> dict[str, Any]:
    """Make sure N applications exist (row i has id i); returns what was done and how long.

    `analyze=False` skips the final VACUUM ANALYZE, which cannot run inside a transaction (a
    test's)."""
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
    profiles_build()
    applicants = users("applicant", APPLICANTS, officer=False)
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
        if analyze:
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
        # DDL takes no parameters (the connection binds them server-side): quoted by psycopg.
        name = connection.ops.quote_name(connection.settings_dict["NAME"])
        comment = f"COMMENT ON DATABASE {name} IS %s"
        cursor.execute(connection.ops.compose_sql(comment, [json.dumps(done)]))  # type: ignore[attr-defined]
    return done


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


# --- The HTTP harness's callers -------------------------------------------------------------

HTTP_OFFICERS = 32  # one per concurrent connection of the claim scenario
CLIENT_NAME = "Bench integration client"


def bench_accounts() -> dict[str, Any]:
    """The harness's callers, created when missing: HTTP_OFFICERS officers who belong to every
    queue, and one integration client with the applications:submit scope."""
    from accounts.models import ApiClient, Scope
    from accounts.services import api_client_create

    officers = users("http-officer", HTTP_OFFICERS, officer=True)
    join_queues(officers)
    client = ApiClient.objects.filter(name=CLIENT_NAME).first() or api_client_create(
        name=CLIENT_NAME, scopes=[Scope.APPLICATIONS_SUBMIT, Scope.CASES_READ]
    )
    return {"officers": officers, "client_user": client.user_id}


def tokens_issue() -> dict[str, Any]:
    """Fresh API tokens for the harness's callers (the plain token exists only here); the ones
    an earlier run issued are revoked first."""
    from accounts.models import ApiToken, User
    from accounts.services import api_token_issue

    accounts = bench_accounts()
    ids = [*accounts["officers"], accounts["client_user"]]
    ApiToken.objects.filter(user_id__in=ids, label="bench").delete()
    people = User.objects.in_bulk(ids)
    return {
        "officers": [api_token_issue(user=people[pk], label="bench")[1]
                     for pk in accounts["officers"]],
        "client": api_token_issue(user=people[accounts["client_user"]], label="bench")[1],
    }  # fmt: skip


def pipeline_ids(n: int) -> list[int]:
    """The applications seeded as submitted and not yet screened (their status is a function
    of their id): the screening scenario puts them back to that state and screens them."""
    from django.db import connection

    status = _pick(_uniform(1), STATUS_MIX, {s: f"'{s}'" for s, _share in STATUS_MIX})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.i FROM generate_series(1, %s::bigint) AS g(i) WHERE {status} = 'submitted'",  # noqa: S608 - constants
            [n],
        )
        return [i for (i,) in cursor.fetchall()]


def setup(n: int) -> dict[str, Any]:
    """Migrate, seed N applications (unless present) and create the harness's callers."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    holders = users("officer", HOLDERS, officer=True)
    join_queues(holders)
    done = seed(n, holders=holders)
    bench_accounts()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="applications in the database")
    args = parser.parse_args()
    database_setup()
    os.environ["DJANGO_DEBUG"] = "false"  # DEBUG on would record every query in memory
    import django

    django.setup()
    done = setup(args.n)
    if done["added"]:
        print(
            f"seeded {done['added']:,} applications in {done['seconds']:.1f} s (inserts "
            f"{done['insert_seconds']:.1f} s, VACUUM ANALYZE {done['vacuum_analyze_seconds']:.1f}"
            f" s); database {done['database_size']}"
        )
    else:
        print(f"the database holds {done['present']:,} applications: not seeded again")


if __name__ == "__main__":
    main()
