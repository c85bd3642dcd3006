"""Decisions and what follows them: refusal reasons, second review, visas, letters, notes,
and the record of who looked at which case.

A decision is made by the officer holding the case. Refusals, and a random share of approvals
(settings.SECOND_REVIEW_APPROVAL_SHARE), wait for a second officer who confirms or sends back;
only a final decision moves the application to approved/refused, issues the visa and the
letter. Everything here is written by reviews.services; rows are never updated after they are
final except where a field says so, and CaseAccess rows never at all (a trigger enforces it).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class RefusalReason(models.Model):
    """A governed list: officers choose codes, letters print the texts in both languages.

    Reasons are retired (is_active=False), never deleted, so old decisions keep their meaning.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_zh = models.CharField(_("label (Chinese)"), max_length=200)
    letter_text_en = models.TextField(_("text in the letter (English)"))
    letter_text_zh = models.TextField(_("text in the letter (Chinese)"))
    requires_statement = models.BooleanField(
        _("needs the officer's own explanation"), default=False
    )
    is_active = models.BooleanField(_("in use"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("refusal reason")
        verbose_name_plural = _("refusal reasons")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def label(self) -> str:
        from django.utils.translation import get_language

        return self.label_zh if (get_language() or "").startswith("zh") else self.label_en


class Entries(models.TextChoices):
    SINGLE = "single", _("Single entry")
    DOUBLE = "double", _("Two entries")
    MULTIPLE = "multiple", _("Multiple entries")


# Order of generosity: an officer may grant fewer entries than the policy, never more.
ENTRIES_RANK = {Entries.SINGLE: 1, Entries.DOUBLE: 2, Entries.MULTIPLE: 3}


class Decision(models.Model):
    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REFUSE = "refuse", _("Refuse")

    class State(models.TextChoices):
        AWAITING_REVIEW = "awaiting_review", _("Waiting for second review")
        SENT_BACK = "sent_back", _("Sent back by the second reviewer")
        FINAL = "final", _("Final")
        CANCELLED = "cancelled", _("Cancelled (application withdrawn)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="decisions"
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=Outcome.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    policy_version = models.ForeignKey(
        "policy.PolicyVersion", on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    reasons = models.ManyToManyField(RefusalReason, blank=True, related_name="+")
    statement = models.TextField(_("explanation"), blank=True)
    # Visa terms of an approval, within the policy version's visa_terms.
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    entries = models.CharField(_("entries"), max_length=8, choices=Entries.choices, blank=True)
    max_stay_days = models.PositiveSmallIntegerField(_("days per stay"), null=True, blank=True)
    # Four eyes
    second_review_required = models.BooleanField(default=False)
    sampled = models.BooleanField(default=False, help_text="An approval drawn for second review.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("second reviewer's comment"), blank=True)
    final_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("decided_by")),
                name="decision_not_reviewed_by_its_author",
            ),
            models.CheckConstraint(
                condition=Q(outcome="refuse")
                | Q(
                    valid_from__isnull=False,
                    valid_until__gte=F("valid_from"),
                    max_stay_days__gt=0,
                )
                & ~Q(entries=""),
                name="decision_approval_has_terms",
            ),
            # One decision in flight per case, and one final decision ever.
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(state__in=["awaiting_review", "final"]),
                name="decision_one_open_or_final",
            ),
        ]
        indexes = [
            # The second-review list: decisions waiting, oldest first.
            models.Index(
                fields=["decided_at"],
                condition=Q(state="awaiting_review"),
                name="decision_awaiting_idx",
            ),
            # The letter sweeper looks at recent final decisions only.
            models.Index(
                fields=["final_at"], condition=Q(state="final"), name="decision_recent_final_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} of {self.application_id} ({self.state})"


class Visa(models.Model):
    """The visa an approval grants. The verification page shows only what a border officer or
    a host institution needs: valid or not, dates, entries, name and nationality."""

    application = models.OneToOneField(
        "applications.Application", on_delete=models.PROTECT, related_name="visa"
    )
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="visa")
    number = models.CharField(_("visa number"), max_length=12, unique=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    entries = models.CharField(_("entries"), max_length=8, choices=Entries.choices)
    max_stay_days = models.PositiveSmallIntegerField(_("days per stay"))
    holder_name = models.CharField(max_length=260)
    holder_nationality = models.CharField(max_length=2)
    # The keyed digest of passport number + nationality (never the number): issue 6's border
    # API checks "visa number + passport number" against it.
    passport_digest = models.CharField(max_length=64)
    verification_token = models.CharField(max_length=43, unique=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("visa")
        verbose_name_plural = _("visas")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="visa_validity_ordered"
            )
        ]

    def __str__(self) -> str:
        return self.number


class Letter(models.Model):
    """The bilingual decision letter (PDF), rendered by a task after the decision is final."""

    class Kind(models.TextChoices):
        APPROVAL = "approval", _("Approval letter")
        REFUSAL = "refusal", _("Refusal letter")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="letters"
    )
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="letter")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.FileField(upload_to="letters/%Y/%m/", max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("decision letter")
        verbose_name_plural = _("decision letters")

    def __str__(self) -> str:
        return f"{self.kind} letter {self.public_id}"

    @property
    def download_name(self) -> str:
        return f"{self.application.reference}-{self.kind}.pdf"


class CaseNote(models.Model):
    """An internal note on a case: officers only, never shown to the applicant."""

    # db_index=False: note_case_idx (application first) serves a case's notes.
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["application", "created_at"], name="note_case_idx")]

    def __str__(self) -> str:
        return f"note {self.pk} on {self.application_id}"


class CaseAccess(models.Model):
    """Who opened which case's personal data, and when. Append-only (a database trigger
    refuses UPDATE); shown to supervisors."""

    class Action(models.TextChoices):
        CASE_FILE = "case_file", _("Opened the case file")
        DOCUMENT = "document", _("Viewed a document")
        DOWNLOAD = "download", _("Downloaded a document")
        LETTER = "letter", _("Downloaded the decision letter")

    # db_index=False on both: access_case_idx and access_officer_idx lead with them.
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    document = models.ForeignKey(
        "applications.Document", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("access to personal data")
        verbose_name_plural = _("accesses to personal data")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(F("application"), F("at").desc(), name="access_case_idx"),
            models.Index(F("officer"), F("at").desc(), name="access_officer_idx"),
            models.Index(F("at").desc(), F("id").desc(), name="access_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} {self.action} {self.application_id}"
