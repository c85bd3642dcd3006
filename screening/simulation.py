"""Policy simulation: what would change if a draft policy version were in force.

Every current screening is evaluated again against the draft with the same rule engine and
routing as the pipeline, and the differences are counted. The work is split into chunks of
consecutive screening ids (keyset ranges, so a chunk reads one index range and never uses
OFFSET); each chunk is one task, locks its row, and is skipped when already done, so a
redelivered task counts nothing twice. The chunk that finishes last merges the results.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import structlog
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from applications.models import Application
from kvisa.db import reporting_alias
from kvisa.errors import Conflict
from ops.queueing import enqueue_on_commit
from policy.engine import Facts, Lists, RoutingInput, Verdict, evaluate_verdict
from policy.models import PolicyVersion, ReviewQueue, StemField
from policy.selectors import engine_lists, queue_codes
from screening.models import PolicySimulation, Screening, SimulationChunk
from screening.services import routed_queue_code

logger = structlog.get_logger(__name__)

# Worth a retry by the task (a lost connection, a deadlock victim); anything else is a bug or
# bad data and fails the simulation at once, with the error shown to the supervisor.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)

COUNTERS = (
    "evaluated",
    "newly_eligible",
    "newly_ineligible",
    "newly_fast_track",
    "no_longer_fast_track",
    "queue_changed",
    "unchanged",
)
TRANSITION_SEPARATOR = "→"
NOT_ROUTED = ""  # the queue key of a case the pipeline has not routed yet


def simulations_visible_to(user: User) -> QuerySet[PolicySimulation]:
    """Simulations the user may see: all of them for supervisors (and admins), none otherwise."""
    simulations = PolicySimulation.objects.select_related("version", "requested_by")
    if not user.is_authenticated or not user.is_supervisor:
        return simulations.none()
    return simulations.order_by("-created_at", "-pk")


def simulation_versions() -> QuerySet[PolicyVersion]:
    """The versions a simulation may be started for: drafts only."""
    return PolicyVersion.objects.filter(status=PolicyVersion.Status.DRAFT).order_by("-created_at")


@transaction.atomic
def simulation_create(*, version: PolicyVersion, actor: User) -> PolicySimulation:
    """Record a simulation of a draft version and start it once the row is committed.

    The version row is locked so it cannot be published between the check and the insert.
    """
    from screening.tasks import simulation_start  # the tasks module imports this one

    locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != PolicyVersion.Status.DRAFT:
        raise Conflict(str(_("Only a draft policy version can be simulated.")))
    simulation = PolicySimulation.objects.create(version=locked, requested_by=actor)
    enqueue_on_commit(simulation_start, simulation.pk)
    logger.info("simulation_created", simulation_id=simulation.pk, version_id=locked.pk)
    return simulation


def _chunk_bounds(size: int) -> list[tuple[int, int, int]]:
    """(first id, last id, rows) of each run of `size` current screenings, in id order.

    One pass over the partial index on current screenings; the boundaries are exact, so every
    chunk has `size` rows (the last one fewer) however sparse the ids are.
    """
    table = Screening._meta.db_table
    with connections[reporting_alias()].cursor() as cursor:
        cursor.execute(
            f"""
            SELECT min(id), max(id), count(*)
            FROM (
                SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS chunk
                FROM {table} WHERE is_current
            ) numbered
            GROUP BY chunk ORDER BY chunk
            """,  # noqa: S608 - the table name comes from the model, not from input
            [size],
        )
        return [(int(a), int(b), int(n)) for a, b, n in cursor.fetchall()]


def simulation_plan(*, simulation_id: int) -> list[int]:
    """Split the simulation into chunks and return the ids of those still to run.

    Idempotent: planned once (under the simulation's row lock); a second call returns the
    chunks not yet done, so a redelivered start task re-enqueues only unfinished work.
    """
    try:
        return _plan(simulation_id=simulation_id)
    except TRANSIENT_DB_ERRORS:
        raise
    except Exception as exc:
        simulation_fail(simulation_id=simulation_id, error=exc)
        return []


@transaction.atomic
def _plan(*, simulation_id: int) -> list[int]:
    simulation = PolicySimulation.objects.select_for_update().get(pk=simulation_id)
    if simulation.state in (PolicySimulation.State.DONE, PolicySimulation.State.FAILED):
        return []
    if simulation.chunks_total:
        return list(
            simulation.chunks.filter(done_at__isnull=True)
            .order_by("first_id")
            .values_list("pk", flat=True)
        )
    if simulation.version.status != PolicyVersion.Status.DRAFT:
        raise Conflict(str(_("The policy version is no longer a draft.")))
    bounds = _chunk_bounds(settings.SIMULATION_CHUNK_SIZE)
    chunks = SimulationChunk.objects.bulk_create(
        [SimulationChunk(simulation=simulation, first_id=a, last_id=b) for a, b, _n in bounds]
    )
    now = timezone.now()
    simulation.total = sum(n for _a, _b, n in bounds)
    simulation.chunks_total = len(chunks)
    simulation.started_at = now
    simulation.state = PolicySimulation.State.RUNNING
    if not chunks:  # nothing has been screened yet: nothing can change
        simulation.state = PolicySimulation.State.DONE
        simulation.results = merge_results([])
        simulation.finished_at = now
    simulation.save()
    logger.info("simulation_planned", simulation_id=simulation.pk, chunks=len(chunks))
    return [c.pk for c in chunks]


def simulation_fail(*, simulation_id: int, error: BaseException | str) -> None:
    """Mark a simulation failed with the error, unless it already finished."""
    logger.error("simulation_failed", simulation_id=simulation_id, error=str(error))
    PolicySimulation.objects.filter(
        pk=simulation_id,
        state__in=[PolicySimulation.State.PENDING, PolicySimulation.State.RUNNING],
    ).update(
        state=PolicySimulation.State.FAILED,
        error=f"{type(error).__name__}: {error}"
        if isinstance(error, BaseException)
        else str(error),
        finished_at=timezone.now(),
    )


def simulation_chunk_run(*, chunk_id: int) -> None:
    """Evaluate one chunk against the draft and, when it is the last, finish the simulation.

    A transient database error is raised again so the task retries; any other error fails
    the whole simulation (retrying a bug would only fail again).
    """
    try:
        _chunk_run(chunk_id=chunk_id)
    except TRANSIENT_DB_ERRORS:
        raise
    except Exception as exc:
        logger.exception("simulation_chunk_failed", chunk_id=chunk_id)
        simulation_id = (
            SimulationChunk.objects.filter(pk=chunk_id).values_list("simulation_id", flat=True)
        ).first()
        if simulation_id is not None:
            simulation_fail(simulation_id=simulation_id, error=exc)


@transaction.atomic
def _chunk_run(*, chunk_id: int) -> None:
    chunk = SimulationChunk.objects.select_for_update().filter(pk=chunk_id).first()
    if chunk is None or chunk.done_at is not None:
        return
    simulation = PolicySimulation.objects.select_related("version").get(pk=chunk.simulation_id)
    if simulation.state != PolicySimulation.State.RUNNING:
        return
    evaluator = DraftEvaluator(
        version=simulation.version,
        lists=engine_lists(),
        active_queues=frozenset(queue_codes()),
        field_codes=dict(StemField.objects.values_list("pk", "code")),
    )
    outcomes = evaluator.count(_current_rows(first_id=chunk.first_id, last_id=chunk.last_id))
    chunk.results = summarise(outcomes)
    chunk.done_at = timezone.now()
    chunk.save(update_fields=["results", "done_at"])

    simulation = PolicySimulation.objects.select_for_update().get(pk=chunk.simulation_id)
    simulation.processed += sum(outcomes.values())
    simulation.chunks_done += 1
    if simulation.chunks_done >= simulation.chunks_total:
        simulation.results = merge_results(
            simulation.chunks.filter(done_at__isnull=False).values_list("results", flat=True)
        )
        simulation.state = PolicySimulation.State.DONE
        simulation.finished_at = timezone.now()
    simulation.save(update_fields=["processed", "chunks_done", "results", "state", "finished_at"])


# An outcome: (field code, nationality, eligible before, after, fast track before, after,
# queue before, after). Rows are tallied by outcome first, and the counters derived once per
# chunk, which keeps the per-row work to the engine itself plus one Counter increment.
Outcome = tuple[str, str, bool | None, bool, bool | None, bool, str, str]
SKIPPED = ("", "", None, False, None, False, "", "")  # a screening never evaluated (no facts)


class DraftEvaluator:
    """Evaluates stored facts against one draft version, with the lists loaded once."""

    def __init__(
        self,
        *,
        version: PolicyVersion,
        lists: Lists,
        active_queues: frozenset[str],
        field_codes: Mapping[int, str],
    ) -> None:
        self.criteria = version.criteria
        self.points_model = version.points_model
        self.routing_rules = version.routing_rules
        self.lists = lists
        self.active_queues = active_queues
        self.field_codes = field_codes
        # Memoised by their inputs: the draft and the lists are fixed for the evaluator's life.
        self._decided: dict[str, tuple[str, str, Verdict]] = {}
        self._routes: dict[tuple[Any, ...], str] = {}
        self._flag_codes: dict[str, tuple[str, ...]] = {}

    def field_code(self, facts: Facts) -> str:
        """The field the case is about: the post's for researchers, else the highest degree's."""
        if facts.path == "researcher":
            field_id = facts.post_field_id
        else:
            highest = facts.highest_degree
            field_id = highest.field_id if highest else None
        return self.field_codes.get(field_id, "") if field_id is not None else ""

    def decide(self, facts_text: str) -> tuple[str, str, Verdict]:
        """(field code, path, the draft's verdict) of one case's facts, as stored (JSON text).

        Memoised on the text: applicants share their facts often (same age, degrees, answers),
        and the verdict is a function of the facts alone. A chunk holds at most
        SIMULATION_CHUNK_SIZE of them.
        """
        decided = self._decided.get(facts_text)
        if decided is None:
            facts = Facts.from_json(json.loads(facts_text))
            verdict = evaluate_verdict(
                facts=facts,
                criteria=self.criteria,
                points_model=self.points_model,
                lists=self.lists,
            )
            decided = self._decided[facts_text] = (self.field_code(facts), facts.path, verdict)
        return decided

    def flag_codes(self, flags_text: str | None) -> tuple[str, ...]:
        """The codes of a screening's flags (JSON text): only a few distinct lists exist."""
        if not flags_text or flags_text == "[]":
            return ()
        codes = self._flag_codes.get(flags_text)
        if codes is None:
            codes = self._flag_codes[flags_text] = tuple(f["code"] for f in json.loads(flags_text))
        return codes

    def queue_for(self, case: RoutingInput) -> str:
        """The queue the draft routes a case to; memoised, as routing inputs repeat a lot."""
        key = (case.path, case.eligible, case.fast_track, case.points, case.complete, case.flags)
        queue = self._routes.get(key)
        if queue is None:
            _index, _rule, queue = routed_queue_code(
                self.routing_rules, case, active_queues=self.active_queues
            )
            self._routes[key] = queue
        return queue

    def outcome(
        self,
        facts_text: str | None,
        eligible: bool | None,
        fast_track: bool | None,
        complete: bool | None,
        flags_text: str | None,
        queue: str | None,
        nationality: str | None,
    ) -> Outcome:
        """The outcome of one row of `_current_rows`."""
        if facts_text is None:
            return SKIPPED
        field, path, verdict = self.decide(facts_text)
        case = RoutingInput(
            path=path,
            eligible=verdict.eligible,
            fast_track=verdict.fast_track,
            points=verdict.points,
            complete=bool(complete),
            flags=self.flag_codes(flags_text),
        )
        return (
            field,
            nationality or "",
            eligible,
            verdict.eligible,
            fast_track,
            verdict.fast_track,
            queue or NOT_ROUTED,
            self.queue_for(case),
        )

    def count(self, rows: Iterable[tuple[Any, ...]]) -> Counter[Outcome]:
        """Tally rows of `_current_rows` (JSON columns still as text) by outcome.

        Identical rows are counted first (Counter does it in C) and each distinct row is
        evaluated once: its outcome depends on the row alone. The outcomes keep the order in
        which rows first produce them, as a row-by-row tally would.
        """
        outcomes: Counter[Outcome] = Counter()
        outcome = self.outcome
        for row, n in Counter(rows).items():
            outcomes[outcome(*row)] += n
        return outcomes


def _current_rows(*, first_id: int, last_id: int) -> Iterator[tuple[Any, ...]]:
    """The current screenings of an id range, as raw rows with the JSON columns as text.

    The query is the ORM's; only the row conversion is skipped, which at a million rows is
    a third of the run (the JSON is decoded once per distinct value, by `DraftEvaluator`).
    The nationality is a subquery, not a join: a join lets the planner hash the whole
    applications table for every chunk (a scan that grows with the table, not the chunk),
    where the subquery is one primary-key lookup a row.
    """
    nationality = Application.objects.filter(pk=OuterRef("application_id")).values("nationality")
    query = (
        Screening.objects.filter(is_current=True, pk__gte=first_id, pk__lte=last_id)
        .annotate(nationality=Subquery(nationality))
        .order_by("pk")
        .values_list(
            "facts",
            "eligible",
            "fast_track",
            "complete",
            "flags",
            "queue__code",
            "nationality",
        )
    )
    alias = reporting_alias()  # the read replica when there is one (kvisa/db.py)
    sql, params = query.query.get_compiler(using=alias).as_sql()
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(5000):
            yield from batch


def _empty_counters() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def _add(counters: dict[str, int], outcome: Outcome, n: int) -> None:
    _field, _country, was_eligible, eligible, was_fast, fast, was_queue, queue = outcome
    counters["evaluated"] += n
    eligibility_changed = bool(was_eligible) != eligible
    if eligibility_changed:
        counters["newly_eligible" if eligible else "newly_ineligible"] += n
    if bool(was_fast) != fast:
        counters["newly_fast_track" if fast else "no_longer_fast_track"] += n
    if was_queue != queue:
        counters["queue_changed"] += n
    if not eligibility_changed and was_queue == queue:
        counters["unchanged"] += n


def summarise(outcomes: Mapping[Outcome, int]) -> dict[str, Any]:
    """Counters overall, by field and by nationality; queue transitions; queue sizes."""
    totals = _empty_counters()
    by_field: dict[str, dict[str, int]] = {}
    by_nationality: dict[str, dict[str, int]] = {}
    transitions: Counter[str] = Counter()
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    skipped = 0
    for outcome, n in outcomes.items():
        if outcome == SKIPPED:
            skipped += n
            continue
        field, country, *_rest, was_queue, queue = outcome
        _add(totals, outcome, n)
        _add(by_field.setdefault(field, _empty_counters()), outcome, n)
        _add(by_nationality.setdefault(country, _empty_counters()), outcome, n)
        before[was_queue] += n
        after[queue] += n
        if was_queue != queue:
            transitions[f"{was_queue}{TRANSITION_SEPARATOR}{queue}"] += n
    return {
        "totals": {**totals, "skipped": skipped},
        "transitions": dict(transitions),
        "queues": {"before": dict(before), "after": dict(after)},
        "by_field": by_field,
        "by_nationality": by_nationality,
    }


def _merge_into(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping):
            _merge_into(target.setdefault(key, {}), value)
        else:
            target[key] = target.get(key, 0) + value


def merge_results(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of chunk results (nested dicts of counts)."""
    merged = summarise({})
    for result in results:
        _merge_into(merged, result)
    return merged


def simulation_report(simulation: PolicySimulation) -> dict[str, Any]:
    """The merged results as the detail page shows them: labelled rows, largest first.

    Two queries (queue and field names); country names come from django_countries.
    """
    from django_countries import countries

    results = simulation.results or {}
    queue_names = {q.code: q.name for q in ReviewQueue.objects.all()}
    field_names = {f.code: f.name for f in StemField.objects.all()}

    def queue_label(code: str) -> str:
        return queue_names.get(code, code) if code else str(_("Not routed"))

    transitions = []
    for key, n in (results.get("transitions") or {}).items():
        before, _sep, after = key.partition(TRANSITION_SEPARATOR)
        transitions.append({"before": queue_label(before), "after": queue_label(after), "n": n})
    transitions.sort(key=lambda t: (-t["n"], t["before"], t["after"]))
    sizes = (
        (results.get("queues") or {}).get("before", {}),
        (results.get("queues") or {}).get("after", {}),
    )
    queues = [
        {
            "label": queue_label(code),
            "before": sizes[0].get(code, 0),
            "after": sizes[1].get(code, 0),
            "change": sizes[1].get(code, 0) - sizes[0].get(code, 0),
        }
        for code in sorted(set(sizes[0]) | set(sizes[1]))
    ]

    def rows(breakdown: Mapping[str, Mapping[str, int]], label: Any) -> list[dict[str, Any]]:
        table = [{"label": label(key), **counters} for key, counters in breakdown.items()]
        table.sort(key=lambda row: (-row["evaluated"], str(row["label"])))
        return table

    not_given = str(_("Not given"))
    return {
        "totals": {**_empty_counters(), "skipped": 0, **(results.get("totals") or {})},
        "transitions": transitions,
        "queues": queues,
        "by_field": rows(
            results.get("by_field") or {},
            lambda code: field_names.get(code, code) or str(_("No listed STEM field")),
        ),
        "by_nationality": rows(
            results.get("by_nationality") or {},
            lambda code: countries.name(code) or code if code else not_given,
        ),
    }
