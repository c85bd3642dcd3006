"""Screening results, the review queues' contents, and policy simulations.

A case waiting for an officer is a `QueueEntry` row: Postgres holds the queues, officers claim
with SELECT … FOR UPDATE SKIP LOCKED (reviews app), and the partial indexes below match the
claim, the escalation sweep and the lease sweep.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Screening(models.Model):
    """One automated evaluation of an application, step by step, against one policy version.

    The pipeline fills the steps in order and each step stamps its time, so a step already done
    is skipped when the pipeline runs again (a redelivered task, the sweeper). Re-evaluation
    writes a new row and marks it current; the old one stays as history.
    """

    class Trigger(models.TextChoices):
        SUBMISSION = "submission", _("Submission")
        REEVALUATION = "reevaluation", _("Re-evaluation")

    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="screenings"
    )
    policy_version = models.ForeignKey(
        "policy.PolicyVersion", on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SUBMISSION)
    is_current = models.BooleanField(default=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempted_at = models.DateTimeField(null=True, blank=True)

    # 1. completeness
    completeness_at = models.DateTimeField(null=True, blank=True)
    complete = models.BooleanField(null=True)
    missing = models.JSONField(default=list, blank=True)
    # 2. eligibility: the engine's inputs and its explained result
    eligibility_at = models.DateTimeField(null=True, blank=True)
    facts = models.JSONField(null=True, blank=True)
    eligible = models.BooleanField(null=True)
    points = models.SmallIntegerField(null=True)
    fast_track = models.BooleanField(null=True)
    evaluation = models.JSONField(null=True, blank=True)
    # 3. integrity
    integrity_at = models.DateTimeField(null=True, blank=True)
    flags = models.JSONField(default=list, blank=True)
    # 4. routing
    routed_at = models.DateTimeField(null=True, blank=True)
    queue = models.ForeignKey(
        "policy.ReviewQueue", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    routing = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(is_current=True),
                name="screening_one_current_per_application",
            )
        ]
        indexes = [
            # the simulator walks current results in primary-key order
            models.Index(fields=["id"], condition=Q(is_current=True), name="screening_current_idx")
        ]

    def __str__(self) -> str:
        return f"screening {self.pk} of application {self.application_id}"

    @property
    def flag_codes(self) -> tuple[str, ...]:
        return tuple(f["code"] for f in self.flags)


# The constraint "an officer holds at most one case"; reviews.services.case_claim_next tells its
# violation (the officer's other tab claimed at the same moment) from any other by this name.
ONE_HELD_CASE = "queue_entry_one_held_case_per_officer"


class QueueEntry(models.Model):
    """A case in a review queue, from routing until it is decided or withdrawn."""

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        IN_REVIEW = "in_review", _("In review")
        PAUSED = "paused", _("Waiting for evidence")
        SECOND_REVIEW = "second_review", _("Waiting for second review")
        DONE = "done", _("Done")

    application = models.OneToOneField(
        "applications.Application", on_delete=models.CASCADE, related_name="queue_entry"
    )
    queue = models.ForeignKey(
        "policy.ReviewQueue", on_delete=models.PROTECT, related_name="entries"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    priority = models.SmallIntegerField(default=0)
    entered_at = models.DateTimeField()
    due_at = models.DateTimeField()
    paused_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # db_index=False: the partial unique constraint below is the index for "the case I hold".
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("queue entry")
        verbose_name_plural = _("queue entries")
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["waiting", "in_review", "paused", "second_review", "done"]),
                name="queue_entry_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="paused") | Q(paused_at__isnull=False),
                name="queue_entry_paused_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="in_review")
                | Q(claimed_by__isnull=False, lease_expires_at__isnull=False),
                name="queue_entry_in_review_is_held",
            ),
            # An officer holds at most one case; "claim next" hands back the one they hold.
            models.UniqueConstraint(
                fields=["claimed_by"],
                condition=Q(state="in_review"),
                name=ONE_HELD_CASE,
            ),
        ]
        indexes = [
            # claim next: highest priority, then the longest waiting, among waiting cases
            models.Index(
                "queue",
                models.F("priority").desc(),
                "entered_at",
                condition=Q(state="waiting"),
                name="queue_entry_claimable_idx",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(state__in=["waiting", "in_review"], escalated_at__isnull=True),
                name="queue_entry_overdue_idx",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state="in_review"),
                name="queue_entry_lease_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} in {self.queue_id} ({self.state})"


class PolicySimulation(models.Model):
    """What would change if a draft policy version were in force, over the submitted cases."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(
        "policy.PolicyVersion", on_delete=models.CASCADE, related_name="simulations"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("policy simulation")
        verbose_name_plural = _("policy simulations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"simulation {self.public_id} of {self.version_id}"


class SimulationChunk(models.Model):
    """One slice of a simulation (a primary-key range), evaluated by one task."""

    simulation = models.ForeignKey(
        PolicySimulation, on_delete=models.CASCADE, related_name="chunks"
    )
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    done_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["simulation", "first_id"], name="simulation_chunk_unique_start"
            )
        ]

    def __str__(self) -> str:
        return f"chunk {self.first_id}-{self.last_id} of {self.simulation_id}"
