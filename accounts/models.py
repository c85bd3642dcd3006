from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken


class Role(models.TextChoices):
    """Each role is a Django group of the same name; permissions hang on the groups."""

    APPLICANT = "applicant", _("Applicant")
    OFFICER = "officer", _("Case officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


# Access is decided on these permissions (granted to groups in migrations), never on group
# names, so superusers and the admin group work cases too without a second rule.
WORK_CASES = "accounts.work_cases"
# Integration clients' users: never a mailbox, never a login (.invalid is reserved, RFC 2606).
API_CLIENT_EMAIL_DOMAIN = "clients.kvisa.invalid"
SUPERVISE_CASES = "accounts.supervise_cases"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]  # knox
    """A person who signs in: email is the login; roles are groups."""

    email = models.EmailField(_("email address"), max_length=254)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, blank=True, help_text=_("Used for emails.")
    )
    is_staff = models.BooleanField(
        _("staff status"), default=False, help_text=_("Can log in to the admin site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        permissions = [
            ("work_cases", _("Can work review queues and decide cases")),
            ("supervise_cases", _("Can supervise queues, reassign and see audit trails")),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @cached_property
    def role_names(self) -> frozenset[str]:
        return frozenset(self.groups.values_list("name", flat=True))

    @property
    def is_officer(self) -> bool:
        """Works cases: whoever holds accounts.work_cases (officer, supervisor, admin)."""
        return self.has_perm(WORK_CASES)

    @property
    def is_api_client(self) -> bool:
        """The user an integration client acts through (accounts.services.api_client_create);
        told by its address, so asking costs no query."""
        return self.email.endswith("@" + API_CLIENT_EMAIL_DOMAIN)

    @property
    def is_supervisor(self) -> bool:
        """Supervises queues: whoever holds accounts.supervise_cases."""
        return self.has_perm(SUPERVISE_CASES)


# --- API access: integration clients and tokens ------------------------------------------------


class Scope(models.TextChoices):
    """What a token may do. Integration clients hold the scopes an administrator gave them;
    an officer's personal token acts with the officer's own permissions (the cases scopes)."""

    CASES_READ = "cases:read", _("Read cases")
    CASES_DECIDE = "cases:decide", _("Work and decide cases")
    APPLICATIONS_SUBMIT = "applications:submit", _("File applications on behalf of applicants")
    VISAS_VERIFY = "visas:verify", _("Verify visas")
    STATS_READ = "stats:read", _("Read statistics")


class ApiClient(models.Model):
    """An organisation's system that calls the API (an institution, a border system).

    Each client acts through a user of its own (no password, no role), so the tokens (knox)
    and the audit trail's actor point at someone, and no officer permission ever applies.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)
    user = models.OneToOneField(
        User, on_delete=models.PROTECT, related_name="api_client", editable=False
    )
    scopes = ArrayField(
        models.CharField(max_length=32, choices=Scope.choices),
        verbose_name=_("scopes"),
        default=list,
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(AbstractAuthToken):
    """A hashed, expiring bearer token (django-rest-knox's model, with a label).

    Several per user; revoking one deletes it. The plain token is shown once, at creation.
    """

    label = models.CharField(_("label"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.label or self.user})"
