"""Settings for every environment, read from the environment (django-environ).

KVISA_ENV selects the mode:
- ``production``: no secret defaults; DJANGO_SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL,
  REDIS_URL and EMAIL_URL must be set or the process refuses to start; HTTPS-only cookies and
  HSTS.
- ``development`` (default): a random secret is written to the git-ignored ``.env`` on first
  run; DATABASE_URL/REDIS_URL are given by ``scripts/devservices.py`` (embedded servers).
Tests use ``kvisa.settings_test``, a small override of this module.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from kvisa.celery_routes import task_routes
from ops import logconfig

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# KVISA_ENV_FILE points elsewhere (tests use a temporary file, so they never touch the real .env).
ENV_FILE = Path(env.str("KVISA_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.exists():
    env.read_env(str(ENV_FILE))

KVISA_ENV = env.str("KVISA_ENV", default="development")
if KVISA_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(
        f"KVISA_ENV must be production, development or test, not {KVISA_ENV!r}"
    )
PRODUCTION = KVISA_ENV == "production"


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when KVISA_ENV=production")
    return value


def _development_secret(name: str, generate: Callable[[], str]) -> str:
    """Generate a dev secret once and keep it in .env, so sessions (and data encrypted with it)
    survive restarts. `make run` migrates before starting processes, so only one writer races."""
    value = env.str(name, default="")
    if value:
        return value
    value = generate()
    with ENV_FILE.open("a", encoding="utf-8") as fh:
        fh.write(f"{name}={value}\n")
    return value


if PRODUCTION:
    SECRET_KEY = _required("DJANGO_SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]
    DATABASE_URL = _required("DATABASE_URL")
    REDIS_URL = _required("REDIS_URL")
    DEBUG = False
else:
    SECRET_KEY = _development_secret("DJANGO_SECRET_KEY", lambda: secrets.token_urlsafe(50))
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DATABASE_URL = env.str("DATABASE_URL", default="postgres://postgres@127.0.0.1:54329/kvisa")
    REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:63799/0")
    DEBUG = env.bool("DJANGO_DEBUG", default=False)

# The public origin, used in emails and letters (links must not depend on the request).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "django_prometheus",
    "django_structlog",
    "django_countries",
    "phonenumber_field",
    # ours; an app may import only apps above it in this list (so applications never import
    # reviews)
    "ops",
    "pages",
    "accounts",
    "policy",
    "applications",
    "screening",
    "reviews",
    "integrations",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # first after the timer: it rewrites META before anything caches request.headers, and
    # even responses short-circuited by later middleware carry the id
    "ops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "kvisa.urls"
WSGI_APPLICATION = "kvisa.wsgi.application"

# Django's form renderer with <select> in Python (kvisa/form_renderer.py: long governed lists).
FORM_RENDERER = "kvisa.form_renderer.FormRenderer"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# Persistent connections: CONN_MAX_AGE=0 costs 3-6x on database-bound endpoints. Django's
# psycopg pool is not used because Celery's prefork children would inherit the parent's pool.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=300)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
# Server-side parameters, and each connection prepares the statements it runs again and again
# (psycopg, after 5 runs): PostgreSQL then skips parsing and, often, planning them. Planning
# the case list's five-table join took longer than running it (1.0 ms against 0.6 ms at 1M
# cases). Off behind a pooler in transaction mode that cannot carry prepared statements
# (PgBouncer before 1.21).
if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
# A streaming read replica, optional: statistics and policy simulations read it (kvisa/db.py).
if DATABASE_REPLICA_URL := env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db_url_config(DATABASE_REPLICA_URL),
        "ENGINE": "django.db.backends.postgresql",
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["kvisa.db.PrimaryReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (Redis): rate limits, sessions cache, worker heartbeat ---------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kvisa"),
        "TIMEOUT": 300,
        # A stalled Redis must fail a request (and /readyz) fast instead of hanging a worker.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
# Rendered fragments that are the same for every visitor (the self-check's unbound form), in
# each process's memory: a deploy starts empty, so new templates or translations show at once.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "kvisa-fragments",
    "TIMEOUT": 3600,
    "OPTIONS": {"MAX_ENTRIES": 200},
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",  # one permission query, not two
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[K visa] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# allauth keeps its counters in the cache, i.e. in Redis: limits hold across web processes.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/key,20/5m/ip",
    "signup": "10/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "5/h/ip,3/h/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "K visa"
# Accept one 30-second step either side (RFC 6238 §5.2: clock drift, slow typing). allauth marks
# a used code for the whole window, so widening it does not allow a replay.
MFA_TOTP_TOLERANCE = 1

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded documents are private: there is no MEDIA_URL route; they are streamed by views that
# check who is asking. Production points the private storage at S3 (django-storages).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".dev" / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
if env.str("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "default_acl": "private",
            "querystring_auth": True,
        },
    }

# --- Email ------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="K visa <no-reply@kvisa.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif PRODUCTION:
    raise ImproperlyConfigured("EMAIL_URL must be set when KVISA_ENV=production")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and the metrics scraper talk plain HTTP to the container, not through the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
# Only these networks may scrape /metrics (a reverse proxy should also keep it internal).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])

# --- Forms ------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "kvisa.schema.KvisaAutoSchema",
    "EXCEPTION_HANDLER": "kvisa.errors.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "kvisa.throttling.CallerRateThrottle",
        "kvisa.throttling.AnonymousRateThrottle",
        "kvisa.throttling.EndpointRateThrottle",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# Requests per caller (kvisa.throttling): "user" is each officer or integration client.
API_RATES = {
    "user": env.str("API_RATE_USER", default="1200/minute"),
    "anon": env.str("API_RATE_ANON", default="60/minute"),
    "visas": env.str("API_RATE_VISAS", default="600/minute"),
}
# Integration and personal tokens: django-rest-knox with our model (hashed at rest, several per
# user, expiring). "Authorization: Bearer kv_…".
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name, not a secret)
# knox's own migrations create its default token table even when the model is swapped (they
# lack the swappable option); with no migrations for knox, the swapped model makes no table.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_PREFIX": "kv_",
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=90)),
    "AUTO_REFRESH": False,
}
# Idempotency-Key (ops.idempotency): how long a key is remembered, and how long a repeat waits
# for the first request with its key to finish before answering 409.
WEBHOOKS_KEEP_DAYS = env.int("WEBHOOKS_KEEP_DAYS", default=90)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=10)
SPECTACULAR_SETTINGS = {
    "TITLE": "K visa API",
    "DESCRIPTION": "Case management and integration API for China's K visa.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 3.1: the schemas are plain JSON Schema (null as a type), which validators and
    # schemathesis read without translation.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kvisa.schema.postprocess",
    ],
    # One name for the event types, whether a field lists several (events) or names one (type).
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventTypeEnum": "ops.models.EventType",
        "CountryEnum": "integrations.filing_schema.country_choices",
    },
}

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# acks_late on Redis: an unacked task comes back after the visibility timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Heartbeats queued during an outage expire instead of being replayed by the thousand
    # (expire_seconds: django-celery-beat's name for the expires option).
    "ops-worker-heartbeat": {
        "task": "ops.tasks.worker_heartbeat",
        "schedule": timedelta(seconds=30),
        "options": {"expire_seconds": 30},
    },
    "accounts-tokens-purge-expired": {
        "task": "accounts.tasks.tokens_purge_expired",
        "schedule": crontab(minute=20, hour=2),
    },
    "applications-drafts-housekeeping": {
        "task": "applications.tasks.drafts_housekeeping",
        "schedule": crontab(minute=40, hour=2),
    },
    "screening-sweep": {
        "task": "screening.tasks.screening_sweep",
        "schedule": timedelta(minutes=5),
        "options": {"expire_seconds": 300},
    },
    "screening-escalate-overdue": {
        "task": "screening.tasks.queue_escalate_overdue",
        "schedule": timedelta(minutes=15),
        "options": {"expire_seconds": 900},
    },
    "reviews-leases-expire": {
        "task": "reviews.tasks.leases_expire",
        "schedule": timedelta(minutes=1),
        "options": {"expire_seconds": 60},
    },
    "reviews-evidence-overdue": {
        "task": "reviews.tasks.evidence_expire_overdue",
        "schedule": timedelta(minutes=15),
        "options": {"expire_seconds": 900},
    },
    "reviews-letters-sweep": {
        "task": "reviews.tasks.letters_sweep",
        "schedule": timedelta(minutes=5),
        "options": {"expire_seconds": 300},
    },
    # The outbox sweeper: events whose after-commit dispatch never ran (broker down, worker
    # restarted) are dispatched within seconds.
    "integrations-outbox-dispatch": {
        "task": "integrations.tasks.outbox_dispatch",
        "schedule": timedelta(seconds=10),
        "options": {"expire_seconds": 10},
    },
    # Webhook retries live in the database (next_attempt_at), not in countdown messages, so
    # they survive worker restarts and Redis's visibility timeout.
    "integrations-webhooks-retry-due": {
        "task": "integrations.tasks.webhooks_retry_due",
        "schedule": timedelta(seconds=30),
        "options": {"expire_seconds": 30},
    },
    "ops-idempotency-purge": {
        "task": "ops.tasks.idempotency_purge",
        "schedule": crontab(minute=7, hour=4),
    },
    "integrations-delivery-log-purge": {
        "task": "integrations.tasks.delivery_log_purge",
        "schedule": crontab(minute=27, hour=4),
    },
    "ops-clear-expired-sessions": {
        "task": "ops.tasks.clear_expired_sessions",
        "schedule": crontab(minute=17, hour=3),
    },
}
# Celery's Django fixup closes the DB connection around every task unless told to reuse it
# (measured ~5x slower on this machine class). Reuse for this many tasks, then recycle.
# A publish to a broker that is down fails fast instead of holding a web request; the
# screening sweeper re-enqueues whatever was not published (ops.queueing).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2}
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# A queue per kind of work (kvisa/celery_routes.py, docs/scaling.md); off: one default queue.
CELERY_TASK_ROUTES = task_routes(split=env.bool("CELERY_SPLIT_QUEUES", default=False))
WORKER_HEARTBEAT_KEY = "ops:worker-heartbeat"
WORKER_HEARTBEAT_MAX_AGE = 120  # seconds; /readyz fails when the last heartbeat is older

# --- Logging: JSON lines with a request id that follows into Celery tasks ---------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
LOGGING = logconfig.logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
logconfig.configure_structlog()
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# ops.middleware.RequestIdMiddleware validates an incoming X-Request-ID (or mints one) before
# django-structlog reads it, so a proxy's id joins its logs with ours.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
# One line per request at INFO: "request_finished" (status, user, request id; gunicorn's
# access line has the duration). "request_started" only at DEBUG: it doubled the log volume
# and said nothing the finished line does not.
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG

# --- Product settings (defaults; policy data itself lives in the database) -------------------
DRAFT_REMINDER_DAYS = env.int("DRAFT_REMINDER_DAYS", default=30)
DRAFT_PURGE_DAYS = env.int("DRAFT_PURGE_DAYS", default=90)

# --- Screening and queues ------------------------------------------------------------------
# A submission not routed this long after submission (or its last attempt) is re-enqueued.
SCREENING_STUCK_AFTER_SECONDS = env.int("SCREENING_STUCK_AFTER_SECONDS", default=600)
SCREENING_SWEEP_BATCH = env.int("SCREENING_SWEEP_BATCH", default=500)
# Where a case goes when its routing rule names a queue that is missing or inactive.
SCREENING_FALLBACK_QUEUE = env.str("SCREENING_FALLBACK_QUEUE", default="standard")
RETURNED_EVIDENCE_QUEUE = env.str("RETURNED_EVIDENCE_QUEUE", default="returned-evidence")
SLA_ESCALATION_PRIORITY_BOOST = env.int("SLA_ESCALATION_PRIORITY_BOOST", default=50)
SIMULATION_CHUNK_SIZE = env.int("SIMULATION_CHUNK_SIZE", default=20000)

# --- Officer workspace (reviews) -------------------------------------------------------------
# A claimed case returns to its queue when its holder has not touched it for this long.
REVIEW_LEASE_SECONDS = env.int("REVIEW_LEASE_SECONDS", default=30 * 60)
# The share of approvals drawn at random for a second officer's review (refusals: all).
SECOND_REVIEW_APPROVAL_SHARE = env.float("SECOND_REVIEW_APPROVAL_SHARE", default=0.1)
# Evidence requests: the due date an officer may set, in days from today, and the default.
EVIDENCE_MIN_DAYS = env.int("EVIDENCE_MIN_DAYS", default=7)
EVIDENCE_MAX_DAYS = env.int("EVIDENCE_MAX_DAYS", default=90)
EVIDENCE_DEFAULT_DAYS = env.int("EVIDENCE_DEFAULT_DAYS", default=30)
EVIDENCE_MAX_ITEMS = 10
# A final decision whose letter is still missing after this long is re-sent to the workers.
LETTER_STUCK_AFTER_SECONDS = env.int("LETTER_STUCK_AFTER_SECONDS", default=300)
LETTER_SWEEP_DAYS = env.int("LETTER_SWEEP_DAYS", default=7)
# A CJK font file for the PDF letters when the system has none (scripts/fonts.py fetches one
# into .fonts/ on a machine without Debian's fonts-noto-cjk).
LETTER_CJK_FONT_FILE = env.str(
    "LETTER_CJK_FONT_FILE", default=str(BASE_DIR / ".fonts" / "NotoSansCJKsc-Regular.otf")
)
# A refused applicant may ask for an administrative review within this many days of the date
# of the refusal letter (the letter prints the last day).
# Statistics (reviews.statistics): counts below this are suppressed; how long they are cached.
STATS_MIN_COUNT = env.int("STATS_MIN_COUNT", default=10)
STATS_CACHE_SECONDS = env.int("STATS_CACHE_SECONDS", default=600)
# Filing on behalf: how long the applicant's confirm-and-sign link is valid.
FILING_LINK_DAYS = env.int("FILING_LINK_DAYS", default=14)
REVIEW_REQUEST_DAYS = env.int("REVIEW_REQUEST_DAYS", default=28)

# --- Webhooks (integrations) ------------------------------------------------------------------
# Endpoints must be https in production. Hosts must resolve to public addresses (no loopback,
# private, link-local, multicast, reserved or unspecified ones: no requests into our own
# network), checked at registration and again before every delivery; WEBHOOKS_ALLOWED_HOSTS
# names hosts exempt from that check (a receiver on the internal network, a test double).
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=not PRODUCTION)
WEBHOOKS_ALLOWED_HOSTS = [h.lower() for h in env.list("WEBHOOKS_ALLOWED_HOSTS", default=[])]
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5)
# Retries after a failed attempt: BACKOFF * 2^(attempt-1), at most BACKOFF_MAX, ±10 % jitter.
WEBHOOKS_BACKOFF_SECONDS = env.int("WEBHOOKS_BACKOFF_SECONDS", default=30)
WEBHOOKS_BACKOFF_MAX_SECONDS = env.int("WEBHOOKS_BACKOFF_MAX_SECONDS", default=6 * 3600)
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=8)
# An endpoint is disabled (and its client emailed) after this many failed attempts in a row
# across its messages; more than one message's attempts, so one bad event alone never does it.
WEBHOOKS_DISABLE_AFTER = env.int("WEBHOOKS_DISABLE_AFTER", default=20)
WEBHOOKS_DISPATCH_BATCH = env.int("WEBHOOKS_DISPATCH_BATCH", default=500)


# --- Data protection (applications.crypto, applications.uploads, applications.scanning) ------
# FIELD_ENCRYPTION_KEYS: comma-separated Fernet keys; the first encrypts, all decrypt (rotate by
# putting a new key first, re-saving rows, then dropping the old one). IDENTIFIER_HASH_KEY keys
# the lookup digests of passport numbers; changing it means recomputing every digest.
def _fernet_keys(raw: str) -> list[str]:
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS key {position} is not a Fernet key "
                "(32 bytes, url-safe base64)"
            ) from exc
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one key")
    return keys


if PRODUCTION:
    FIELD_ENCRYPTION_KEYS = _fernet_keys(_required("FIELD_ENCRYPTION_KEYS"))
    IDENTIFIER_HASH_KEY = _required("IDENTIFIER_HASH_KEY")
else:
    FIELD_ENCRYPTION_KEYS = _fernet_keys(
        _development_secret("FIELD_ENCRYPTION_KEYS", lambda: Fernet.generate_key().decode())
    )
    IDENTIFIER_HASH_KEY = _development_secret(
        "IDENTIFIER_HASH_KEY", lambda: secrets.token_urlsafe(32)
    )
if len(IDENTIFIER_HASH_KEY) < 32:
    raise ImproperlyConfigured("IDENTIFIER_HASH_KEY must be at least 32 characters")
# Largest accepted document upload; the reverse proxy's body limit should be a little above it.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# "clamd" scans every upload through clamd's INSTREAM command; "none" skips scanning (dev only).
VIRUS_SCANNER = env.str("VIRUS_SCANNER", default="clamd" if PRODUCTION else "none")
if VIRUS_SCANNER not in {"clamd", "none"}:
    raise ImproperlyConfigured(f"VIRUS_SCANNER must be clamd or none, not {VIRUS_SCANNER!r}")
CLAMD_HOST = env.str("CLAMD_HOST", default="127.0.0.1")
CLAMD_PORT = env.int("CLAMD_PORT", default=3310)

# accounts.User.email is unique case-insensitively through a functional UniqueConstraint on
# Lower(email), which the system check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
# Outside production, whitenoise serves straight from the source folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
# Public status lookups allowed per client address per hour.
STATUS_LOOKUP_RATE = env.int("STATUS_LOOKUP_RATE", default=20)
# Public visa checks (/verify/<token>/) allowed per client address per hour: a host institution
# checks a handful; border systems use the API instead.
VISA_VERIFY_RATE = env.int("VISA_VERIFY_RATE", default=60)
