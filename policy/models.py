"""The K-visa policy as data: governed lists and versioned rules.

The conditions of the K visa are young and still changing (see shared/reference/kvisa.md), so
nothing here is a constant in code: administrators edit the lists and draft new policy
versions; exactly one version is in force at a time, and an application keeps the version
that was in force when it was submitted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kvisa.countries import CountryField


class Discipline(models.TextChoices):
    SCIENCE = "science", _("Science")
    TECHNOLOGY = "technology", _("Technology")
    ENGINEERING = "engineering", _("Engineering")
    MATHEMATICS = "mathematics", _("Mathematics")


class BilingualName(models.Model):
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language, falling back to English."""
        language = get_language() or ""
        if language.startswith("zh") and self.name_zh:
            return self.name_zh
        return self.name_en


class StemField(BilingualName):
    """A field of study or work that counts as STEM (governed list)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    discipline = models.CharField(_("discipline"), max_length=16, choices=Discipline.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("STEM field")
        verbose_name_plural = _("STEM fields")
        ordering = ["discipline", "name_en"]


class Institution(BilingualName):
    """A recognised ("well-known") university or research institution (governed list).

    The decree does not define "well-known"; the tier lets a policy version weigh
    institutions differently without editing the list.
    """

    class Kind(models.TextChoices):
        UNIVERSITY = "university", _("University")
        RESEARCH = "research", _("Research institution")

    class Tier(models.IntegerChoices):
        TOP = 1, _("Tier 1 (world-leading)")
        HIGH = 2, _("Tier 2 (internationally recognised)")
        RECOGNISED = 3, _("Tier 3 (recognised)")

    country = CountryField(_("country"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.UNIVERSITY)
    tier = models.PositiveSmallIntegerField(
        _("tier"), choices=Tier.choices, default=Tier.RECOGNISED
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("recognised institution")
        verbose_name_plural = _("recognised institutions")
        ordering = ["name_en"]
        constraints = [
            models.UniqueConstraint(
                fields=["name_en", "country"], name="policy_institution_unique_name"
            ),
        ]


class ListsVersion(models.Model):
    """One row whose version changes with every write to the governed lists the rule engine
    reads (STEM fields, institutions): statement triggers on both tables update it (migration
    0006), whatever writes them (the admin, an import, SQL). ``policy.selectors.engine_lists``
    keeps the lists per process and reads them again only when the row's ``xmin`` (the
    transaction that last wrote it) differs from the one it saw: a transaction id is never
    handed out twice, so a write rolled back and another made later never look alike, which
    a counter would (issue 7)."""

    changes = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("governed lists version")

    def __str__(self) -> str:
        return f"lists version {self.changes}"


class PolicyVersion(models.Model):
    """One complete set of rules. Sections are JSON documents validated by policy.schema."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("In force")
        RETIRED = "retired", _("Retired")

    name = models.CharField(_("name"), max_length=100, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    notes = models.TextField(_("notes"), blank=True)
    criteria = models.JSONField(_("hard criteria"), default=dict)
    points_model = models.JSONField(_("points model"), default=dict)
    document_checklist = models.JSONField(_("document checklist"), default=dict)
    visa_terms = models.JSONField(_("visa terms"), default=dict)
    routing_rules = models.JSONField(_("routing rules"), default=list)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="published"),
                name="policy_one_version_in_force",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published", "retired"]),
                name="policy_version_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    def checklist_for(self, path: str) -> list[dict[str, Any]]:
        """The document requirements for one applicant path."""
        return list(self.document_checklist.get(path, []))

    @property
    def sections(self) -> dict[str, Any]:
        return {
            "criteria": self.criteria,
            "points_model": self.points_model,
            "document_checklist": self.document_checklist,
            "visa_terms": self.visa_terms,
            "routing_rules": self.routing_rules,
        }


class PolicyEvent(models.Model):
    """Append-only audit of what happened to policy versions (created, edited, published …)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        PUBLISHED = "published", _("Published")
        RETIRED = "retired", _("Retired")

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("policy event")
        verbose_name_plural = _("policy events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.version.name}: {self.action}"


class ReviewQueue(BilingualName):
    """A queue officers work. Routing rules in the policy version name queues by `code`."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    priority = models.SmallIntegerField(
        _("priority"), default=0, help_text=_("Cases in higher-priority queues are offered first.")
    )
    service_level_days = models.PositiveSmallIntegerField(
        _("service level (working days)"), default=40
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="review_queues",
        verbose_name=_("officers"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("review queue")
        verbose_name_plural = _("review queues")
        ordering = ["-priority", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class Holiday(BilingualName):
    """A public holiday: not a working day for service levels."""

    date = models.DateField(_("date"), unique=True)

    class Meta:
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")
        ordering = ["date"]
