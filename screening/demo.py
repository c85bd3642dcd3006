"""Demo data for the queues: every demo officer and supervisor works every queue, and the
demo submissions are screened now (idempotent: the pipeline skips what is done)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, Q

from accounts.demo import DEMO_DOMAIN, DemoSection
from accounts.models import WORK_CASES, User
from applications.models import Application, Status
from policy.models import ReviewQueue
from screening.models import QueueEntry
from screening.services import screening_run


def seed_demo() -> Sequence[DemoSection]:
    officers = [
        u for u in User.objects.filter(email__endswith=f"@{DEMO_DOMAIN}") if u.has_perm(WORK_CASES)
    ]
    for queue in ReviewQueue.objects.all():
        queue.members.add(*officers)
    for application_id in Application.objects.filter(
        applicant__email__endswith=f"@{DEMO_DOMAIN}", status=Status.SUBMITTED
    ).values_list("pk", flat=True):
        screening_run(application_id=application_id)
    queues = ReviewQueue.objects.annotate(
        waiting=Count("entries", filter=Q(entries__state=QueueEntry.State.WAITING))
    )
    rows = [(q.code, q.name_en, str(q.service_level_days), str(q.waiting)) for q in queues]
    return [
        DemoSection(
            title="Review queues (every demo officer is a member)",
            headers=("queue", "name", "service level (working days)", "waiting"),
            rows=rows,
        )
    ]
