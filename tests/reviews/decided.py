"""Final decisions made through the real services, as an officer would make them."""

from __future__ import annotations

from applications.models import Application
from reviews import services
from reviews.models import Decision


def claimed(case: Application, officer) -> None:
    entry = services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    assert entry is not None
    assert entry.application_id == case.pk


def approve(case: Application, officer, settings) -> Decision:
    """An approval on the policy's default terms, not drawn for second review: final at once."""
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    claimed(case, officer)
    decision = services.decision_make(
        application=case,
        officer=officer,
        outcome="approve",
        terms=services.default_visa_terms(case),
    )
    assert decision.state == Decision.State.FINAL
    return decision


def refuse(
    case: Application,
    officer,
    reviewer,
    *,
    reason_codes: list[str],
    statement: str = "",
) -> Decision:
    """A refusal, confirmed by a second officer (refusals always need one)."""
    claimed(case, officer)
    decision = services.decision_make(
        application=case,
        officer=officer,
        outcome="refuse",
        reason_codes=reason_codes,
        statement=statement,
    )
    decision = services.second_review_confirm(decision=decision, reviewer=reviewer)
    assert decision.state == Decision.State.FINAL
    return decision
