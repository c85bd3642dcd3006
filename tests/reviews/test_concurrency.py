"""Officers racing each other, each thread with its own PostgreSQL connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from applications.models import Status, TimelineEvent
from kvisa.errors import DomainError
from policy.models import ReviewQueue
from reviews import services
from reviews.models import Decision, Visa
from screening.models import QueueEntry
from tests.locks import race_on_a_lock
from tests.reviews.conftest import officer_in, queued_cases

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_threads(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread, started together; return results or exceptions."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # reported to the test, which asserts on it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    return results


def test_twenty_officers_empty_a_queue_of_two_hundred_each_case_claimed_once(settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    queue = ReviewQueue.objects.get(code="standard")
    cases = queued_cases(queue, 200)
    officers = [officer_in(queue, with_totp=False) for _ in range(20)]

    def work(officer) -> Callable[[], list[int]]:
        def claim_until_empty() -> list[int]:
            mine: list[int] = []
            while (entry := services.case_claim_next(officer=officer, queue=queue)) is not None:
                mine.append(entry.application_id)
                services.decision_make(
                    application=entry.application,
                    officer=officer,
                    outcome="approve",
                    terms=services.default_visa_terms(entry.application),
                )
            return mine

        return claim_until_empty

    results = _run_in_threads([work(o) for o in officers])

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    claimed = Counter(pk for result in results for pk in result)
    assert sorted(claimed) == sorted(c.pk for c in cases)
    assert set(claimed.values()) == {1}
    assert sum(1 for result in results if result) > 1  # the work was actually shared
    assert not QueueEntry.objects.filter(queue=queue).exclude(state="done").exists()
    assert Visa.objects.count() == 200
    assert TimelineEvent.objects.filter(to_status=Status.IN_REVIEW).count() == 200  # one claim each


def test_one_officer_claiming_from_two_tabs_at_once_gets_one_case_twice():
    queue = ReviewQueue.objects.get(code="standard")
    queued_cases(queue, 5)
    officer = officer_in(queue, with_totp=False)

    for _ in range(3):
        results = _run_in_threads(
            [lambda: services.case_claim_next(officer=officer, queue=queue) for _ in range(2)]
        )

        assert [type(r) for r in results] == [QueueEntry, QueueEntry]
        assert results[0].pk == results[1].pk
        (held,) = QueueEntry.objects.filter(claimed_by=officer, state="in_review")
        assert held.pk == results[0].pk
        claims = TimelineEvent.objects.filter(
            application_id=held.application_id, to_status=Status.IN_REVIEW
        )
        assert claims.count() == 1
        services.case_release(application=held.application, actor=officer)
        QueueEntry.objects.filter(pk=held.pk).update(state="done")
    assert QueueEntry.objects.filter(queue=queue, state="waiting").count() == 2


def test_two_second_reviewers_confirming_at_once_one_wins_the_other_is_told(settings):
    queue = ReviewQueue.objects.get(code="standard")
    (case,) = queued_cases(queue, 1)
    author, first, second = (officer_in(queue, with_totp=False) for _ in range(3))
    services.case_claim_next(officer=author, queue=queue)
    decision = services.decision_make(
        application=case, officer=author, outcome="refuse", reason_codes=["criteria-not-met"]
    )

    results = _run_in_threads(
        [
            lambda: services.second_review_confirm(decision=decision, reviewer=first),
            lambda: services.second_review_confirm(decision=decision, reviewer=second),
        ]
    )

    wins = [r for r in results if isinstance(r, Decision)]
    losses = [r for r in results if isinstance(r, Exception)]
    assert len(wins) == 1
    assert len(losses) == 1
    assert isinstance(losses[0], DomainError)
    assert losses[0].status_code == 409
    assert "already been reviewed" in losses[0].message
    case.refresh_from_db()
    assert case.status == Status.REFUSED
    assert TimelineEvent.objects.filter(application=case, to_status=Status.REFUSED).count() == 1


def test_the_holder_deciding_twice_at_once_makes_one_decision(settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    queue = ReviewQueue.objects.get(code="standard")
    (case,) = queued_cases(queue, 1)
    officer = officer_in(queue, with_totp=False)
    services.case_claim_next(officer=officer, queue=queue)
    terms = services.default_visa_terms(case)

    results = _run_in_threads(
        [
            lambda: services.decision_make(
                application=case, officer=officer, outcome="approve", terms=terms
            ),
            lambda: services.decision_make(
                application=case,
                officer=officer,
                outcome="refuse",
                reason_codes=["criteria-not-met"],
            ),
        ]
    )

    assert sum(isinstance(r, Decision) for r in results) == 1
    (loss,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(loss, DomainError)
    assert loss.status_code == 409
    assert Decision.objects.filter(application=case).count() == 1


def test_a_claim_racing_the_officers_other_tab_waits_for_it_and_answers_its_case():
    """Both tabs' claims find nothing held; the second waits on the "one held case" index for
    the first to commit, then answers with the first's case instead of failing."""
    queue = ReviewQueue.objects.get(code="standard")
    queued_cases(queue, 3)
    officer = officer_in(queue, with_totp=False)

    def claim() -> QueueEntry | None:
        return services.case_claim_next(officer=officer, queue=queue)

    first, second = race_on_a_lock(claim, claim)

    assert isinstance(second, QueueEntry), second
    assert second.pk == first.pk
    assert second.claimed_by == officer
    (held,) = QueueEntry.objects.filter(claimed_by=officer, state="in_review")
    assert held.pk == first.pk
    assert QueueEntry.objects.filter(queue=queue, state="waiting").count() == 2
    assert TimelineEvent.objects.filter(to_status=Status.IN_REVIEW).count() == 1
