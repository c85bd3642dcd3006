"""The K-visa application, as the applicant fills it in and as it moves through its life.

Status changes happen only in applications.services.application_transition, which checks
TRANSITIONS, locks the row and writes the timeline in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models, router
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from applications.crypto import EncryptedTextField
from applications.uploads import storage_name
from kvisa.countries import CountryField


class SectionValidated(models.Model):
    """Model validation that skips, before building its query, a check constraint naming a
    field the caller excludes. Django skips it too, but only once the query fails to compile
    (a FieldError it ignores): a section form excludes most of the application's fields, and
    building those queries, form after form, was most of a filing's validation time."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        if not exclude:
            super().validate_constraints(exclude)
            return
        excluded = set(exclude)
        using = router.db_for_write(type(self), instance=self)
        errors: dict[str, Any] = {}
        for model_class, constraints in self.get_constraints():
            for constraint in constraints:
                if isinstance(constraint, models.CheckConstraint):
                    condition = constraint.condition
                    if not isinstance(condition, Q):
                        condition = Q(condition)
                    if condition.referenced_base_fields & excluded:
                        continue
                try:
                    constraint.validate(model_class, self, exclude=excluded, using=using)
                except ValidationError as e:
                    # Django's own grouping of the errors (Model.validate_constraints).
                    fields: tuple[str, ...] = tuple(getattr(constraint, "fields", ()))
                    if getattr(e, "code", None) == "unique" and len(fields) == 1:
                        errors.setdefault(fields[0], []).append(e)
                    else:
                        errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    QUEUED = "queued", _("Waiting for review")
    IN_REVIEW = "in_review", _("In review")
    EVIDENCE_REQUESTED = "evidence_requested", _("More evidence requested")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# The lifecycle from shared/DESIGN.md. Withdrawal is allowed at any time before a decision.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.SUBMITTED: frozenset({Status.QUEUED, Status.WITHDRAWN}),
    Status.QUEUED: frozenset({Status.IN_REVIEW, Status.WITHDRAWN}),
    Status.IN_REVIEW: frozenset(
        {
            Status.QUEUED,
            Status.APPROVED,
            Status.REFUSED,
            Status.EVIDENCE_REQUESTED,
            Status.WITHDRAWN,
        }
    ),
    Status.EVIDENCE_REQUESTED: frozenset({Status.QUEUED, Status.WITHDRAWN}),
    Status.APPROVED: frozenset(),
    Status.REFUSED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.QUEUED, Status.IN_REVIEW, Status.EVIDENCE_REQUESTED}
)
DECIDED_STATUSES = frozenset({Status.APPROVED, Status.REFUSED})


class ApplicantPath(models.TextChoices):
    GRADUATE = "graduate", _("STEM graduate (bachelor's degree or higher)")
    RESEARCHER = "researcher", _("STEM teacher or researcher")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    UNSPECIFIED = "X", _("Unspecified (X)")


class DegreeLevel(models.TextChoices):
    BACHELOR = "bachelor", _("Bachelor's degree")
    MASTER = "master", _("Master's degree")
    DOCTORATE = "doctorate", _("Doctorate (PhD)")


class Activity(models.TextChoices):
    """Permitted activities named in the official Q&A (salaried employment is not named)."""

    EDUCATION = "education", _("Exchanges in education")
    SCIENCE = "science", _("Exchanges in science and technology")
    CULTURE = "culture", _("Cultural exchanges")
    ENTREPRENEURSHIP = "entrepreneurship", _("Entrepreneurship")
    BUSINESS = "business", _("Business activities")


class Application(SectionValidated):
    """One K-visa application by one applicant. Drafts are editable; submission freezes them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # db_index=False: application_dashboard_idx (applicant, -created_at) serves "an applicant's
    # applications"; a second index would only cost every write of the row (issue 7).
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="applications",
        db_index=False,
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.DRAFT
    )
    # NULL, not "", until submission: many drafts have no reference, and UNIQUE ignores NULLs.
    reference = models.CharField(  # noqa: DJ001
        _("reference number"), max_length=20, unique=True, null=True
    )
    policy_version = models.ForeignKey(
        "policy.PolicyVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Route
    path = models.CharField(
        _("applicant path"), max_length=16, choices=ApplicantPath.choices, blank=True
    )

    # Personal data
    family_name = models.CharField(_("family name (as in passport)"), max_length=100, blank=True)
    given_names = models.CharField(_("given names (as in passport)"), max_length=150, blank=True)
    native_name = models.CharField(_("name in native script"), max_length=150, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    place_of_birth = models.CharField(_("place of birth"), max_length=150, blank=True)
    nationality = CountryField(_("nationality"), blank=True)

    # Passport: the number is encrypted at rest; the keyed digest (number + nationality) is the
    # lookup and duplicate-detection key.
    passport_number = EncryptedTextField(_("passport number"), blank=True)
    # Indexed in Meta (application_passport_idx): db_index would add a pattern-ops twin for
    # LIKE, which an exact digest never needs, to every write of the row.
    passport_digest = models.CharField(max_length=64, blank=True, editable=False)
    passport_issuing_country = CountryField(_("issuing country"), blank=True)
    passport_issue_date = models.DateField(_("date of issue"), null=True, blank=True)
    passport_expiry_date = models.DateField(_("date of expiry"), null=True, blank=True)

    # Contact
    contact_email = models.EmailField(_("contact email"), blank=True)
    phone = PhoneNumberField(_("phone number"), blank=True)
    address_line = models.CharField(_("street address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country_of_residence = CountryField(_("country of residence"), blank=True)

    # Current post
    employer_name = models.CharField(_("institution or company"), max_length=200, blank=True)
    employer_institution = models.ForeignKey(
        "policy.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recognised institution of your post"),
    )
    job_title = models.CharField(_("role or job title"), max_length=150, blank=True)
    post_is_stem_teaching_research = models.BooleanField(
        _("the post is STEM teaching or research"), null=True, blank=True
    )
    post_field = models.ForeignKey(
        "policy.StemField",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("field of the post"),
    )
    post_since = models.DateField(_("in this post since"), null=True, blank=True)
    years_experience = models.PositiveSmallIntegerField(
        _("years of relevant experience"), null=True, blank=True
    )
    publications_count = models.PositiveSmallIntegerField(
        _("peer-reviewed publications"), default=0
    )
    patents_count = models.PositiveSmallIntegerField(_("granted patents"), default=0)
    research_summary = models.TextField(_("notable publications or patents"), blank=True)

    # Chinese language
    hsk_level = models.PositiveSmallIntegerField(_("HSK level"), null=True, blank=True)
    degree_taught_in_chinese = models.BooleanField(_("a degree taught in Chinese"), default=False)

    # Travel
    intended_activities = ArrayField(
        models.CharField(max_length=32, choices=Activity.choices),
        default=list,
        blank=True,
        verbose_name=_("intended activities"),
    )
    planned_entry_date = models.DateField(_("planned date of entry"), null=True, blank=True)
    planned_stay_days = models.PositiveSmallIntegerField(
        _("planned length of stay (days)"), null=True, blank=True
    )
    previous_visits = models.BooleanField(_("visited China before"), null=True, blank=True)
    previous_visits_details = models.TextField(_("details of previous visits"), blank=True)
    previous_refusals = models.BooleanField(_("refused a visa before"), null=True, blank=True)
    previous_refusals_details = models.TextField(_("details of previous refusals"), blank=True)

    # Declarations and e-signature
    declarations_accepted = models.BooleanField(_("declarations accepted"), default=False)
    signature_name = models.CharField(_("signature (typed full name)"), max_length=250, blank=True)
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)

    # Frozen answers at submission: what the applicant signed, unaffected by later edits.
    snapshot = models.JSONField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="application_status_valid"
            ),
            # Every application that was ever submitted has a reference; a draft withdrawn
            # (deleted by its owner) never had one.
            models.CheckConstraint(
                condition=Q(status__in=[Status.DRAFT, Status.WITHDRAWN])
                | Q(reference__isnull=False),
                name="application_submitted_has_reference",
            ),
            models.CheckConstraint(
                condition=Q(hsk_level__isnull=True) | Q(hsk_level__lte=9),
                name="application_hsk_level_range",
            ),
        ]
        indexes = [
            models.Index(fields=["applicant", "-created_at"], name="application_dashboard_idx"),
            # Integrity: the same passport on other open cases.
            models.Index(fields=["passport_digest"], name="application_passport_idx"),
            # The housekeeping task scans only drafts by age.
            models.Index(
                fields=["updated_at"],
                condition=Q(status="draft"),
                name="application_stale_draft_idx",
            ),
            # The officers' case list (reviews.apis.cases.CaseListApi): newest submission first,
            # with or without a status filter, so a page is an index range, not a sort of the table.
            models.Index(fields=["-submitted_at", "-id"], name="application_case_list_idx"),
            models.Index(
                fields=["status", "-submitted_at", "-id"], name="application_case_status_idx"
            ),
            # The screening sweeper looks for submissions that were never routed.
            models.Index(
                fields=["submitted_at"],
                condition=Q(status="submitted"),
                name="application_unrouted_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or f"draft {self.public_id}"

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def can_withdraw(self) -> bool:
        return Status.WITHDRAWN in TRANSITIONS[self.status]

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_names, self.family_name) if p)

    @property
    def planned_stay_end(self) -> date | None:
        if self.planned_entry_date and self.planned_stay_days:
            return self.planned_entry_date + timedelta(days=self.planned_stay_days)
        return None


class Degree(SectionValidated):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="degrees")
    level = models.CharField(_("level"), max_length=16, choices=DegreeLevel.choices)
    field = models.ForeignKey(
        "policy.StemField", on_delete=models.PROTECT, related_name="+", verbose_name=_("field")
    )
    institution = models.ForeignKey(
        "policy.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("institution"),
    )
    institution_other = models.CharField(
        _("institution, if not in the list"), max_length=200, blank=True
    )
    country = CountryField(_("country"))
    started_on = models.DateField(_("started"))
    awarded_on = models.DateField(_("awarded"))
    documents_in_zh_or_en = models.BooleanField(
        _("certificate and transcript are in Chinese or English"), default=True
    )

    class Meta:
        verbose_name = _("degree")
        verbose_name_plural = _("degrees")
        ordering = ["awarded_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(awarded_on__gte=models.F("started_on")), name="degree_dates_ordered"
            ),
            models.CheckConstraint(
                condition=Q(institution__isnull=False) | ~Q(institution_other=""),
                name="degree_has_institution",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}, {self.field}"

    @property
    def institution_name(self) -> str:
        return str(self.institution) if self.institution else self.institution_other


class DocumentKind(models.TextChoices):
    PASSPORT_BIO = "passport_bio", _("Passport bio page")
    PHOTO = "photo", _("Recent photo")
    DEGREE_CERTIFICATE = "degree_certificate", _("Degree certificate")
    TRANSCRIPT = "transcript", _("Academic transcript")
    POST_PROOF = "post_proof", _("Proof of STEM teaching or research post")
    TRANSLATION = "translation", _("Certified translation")
    EVIDENCE = "evidence", _("Additional evidence")


def _document_path(instance: Document, filename: str) -> str:
    # Opaque storage names: the client's file name never reaches the storage path.
    return storage_name(sha256=instance.sha256, extension=instance.extension)


class Document(models.Model):
    """An uploaded file. Stored privately; streamed only by views that check who is asking."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=32, choices=DocumentKind.choices)
    degree = models.ForeignKey(
        Degree, on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    evidence_response = models.ForeignKey(
        "EvidenceResponse",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
    )
    file = models.FileField(upload_to=_document_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=150)
    content_type = models.CharField(max_length=64)
    extension = models.CharField(max_length=8)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["kind", "uploaded_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"


class TimelineEvent(models.Model):
    """Append-only history of a case: transitions and other notable events.

    `public` events are shown to the applicant; internal ones only to officers.
    """

    # db_index=False: timeline_case_idx (application, at) serves a case's timeline.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="timeline", db_index=False
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32)
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    message = models.TextField(blank=True)
    public = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["application", "at"], name="timeline_case_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}→{self.to_status}"

    @property
    def to_status_label(self) -> str:
        return (
            str(Status(self.to_status).label) if self.to_status in Status.values else self.to_status
        )


class EvidenceRequest(models.Model):
    """An officer's request for more evidence; the service clock pauses until it is answered."""

    class State(models.TextChoices):
        OPEN = "open", _("Waiting for your answer")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="evidence_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    items = models.JSONField(_("items requested"), default=list)
    message = models.TextField(_("message"))
    due_at = models.DateTimeField(_("answer by"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(state="open"), name="one_open_evidence_request"
            )
        ]

    def __str__(self) -> str:
        return f"evidence request {self.public_id}"


class EvidenceResponse(models.Model):
    request = models.OneToOneField(
        EvidenceRequest, on_delete=models.CASCADE, related_name="response"
    )
    text = models.TextField(_("your answer"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"answer to {self.request_id}"


class ReviewRequest(models.Model):
    """The applicant's request for an administrative review of a refusal (one per case)."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="review_request"
    )
    text = models.TextField(_("why the decision is wrong"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("request for administrative review")
        verbose_name_plural = _("requests for administrative review")

    def __str__(self) -> str:
        return f"review request on {self.application_id}"
