"""Confide's one settings module, configured by the environment (12-factor).

Environment variables:
    DATABASE_URL            sqlite:///path or postgres://user@host:port/name
                            (default: SQLite in CONFIDE_DATA_DIR/confide.sqlite3)
    CONFIDE_DATA_DIR        where the SQLite file, demo keys and secrets live (default: var/)
    CONFIDE_ENV             "development" (default) or "production"
    CONFIDE_DEBUG           "1" to turn on Django's debug pages (refused in production)
    CONFIDE_KEYS_FILE       the key ring file (default: CONFIDE_DATA_DIR/keys/keyring.json)
    CONFIDE_EPOCH_KEYS_FILE the retention epoch store (default: epochs.json beside the key ring)
    CONFIDE_MASTER_KEYS     instead of a key file: "1:<base64>,2:<base64>"
    CONFIDE_ACTIVE_MASTER_KEY   version used for new wrapping when keys come from the environment
    CONFIDE_INDEX_KEY       base64 blind-index key when keys come from the environment
    SECRET_KEY              Django's signing key (required in production)
    ALLOWED_HOSTS           comma-separated (required in production)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CONFIDE_DATA_DIR", BASE_DIR / "var")).resolve()
CONFIDE_ENV = os.environ.get("CONFIDE_ENV", "development")
if CONFIDE_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("CONFIDE_ENV must be 'development' or 'production'.")
PRODUCTION = CONFIDE_ENV == "production"
DEBUG = os.environ.get("CONFIDE_DEBUG", "") == "1"
CONFIDE_STRICT = os.environ.get("CONFIDE_STRICT", "") == "1"
# Ofcom drama numbers (07700 900xxx, ...) are accepted outside production: demo data uses them.
CONFIDE_ALLOW_DRAMA_NUMBERS = not PRODUCTION

if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "CONFIDE_DEBUG=1 is refused in production: debug pages can show personal data. "
        "Unset CONFIDE_DEBUG."
    )


def _development_secret_key() -> str:
    """A per-checkout secret kept in the data directory, so sessions survive restarts."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "Production needs SECRET_KEY (at least 50 random characters) in the environment."
        )
    ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production needs ALLOWED_HOSTS, e.g. confide.example.org.")
else:
    SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret_key()
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "rules",
    "ninja",  # serves the API docs page's Swagger UI from our own static files
    "confide.privacy",
    "confide.staff",
    "confide.people",
    "confide.matching",
    "confide.cases",
    "confide.tracing",
    "confide.messaging",
    "confide.workqueue",
    "confide.ingest",
    "confide.api",
    "confide.workspace",
    "confide.dpo",
    "confide.demo",
    "confide.statistics",
    "confide.public",
    "confide.support",
    "confide.web",
]

MIDDLEWARE = [
    # First: times and logs every request (static files too), adds the request id.
    "confide.observability.middleware.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "confide.staff.middleware.StaffSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "confide.urls"
WSGI_APPLICATION = "confide.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_sqlite = f"sqlite:///{DATA_DIR / 'confide.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", _default_sqlite)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the web server write side by side; the test database is a file
    # (not :memory:) so tests can read it raw and prove it holds no plaintext.
    DATABASES["default"]["OPTIONS"] = {
        # A 64 MB page cache (the default is 2 MB): an import's inserts touch index pages all
        # over the blind-index and blocking-key indexes (docs/ingest.md, "Speed").
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-confide.sqlite3")}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Parameters travel apart from the statement (server-side binding) instead of being quoted
    # into it: sealed bytes, arrays and timestamps are no longer sent and parsed as long
    # literals, which more than halved the time a tracer's request waited on the database
    # (2026-12-05, bench operations). Nothing is prepared: a cached generic plan could differ
    # from the plans tests/test_hot_path_plans.py checks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=None
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "staff.StaffMember"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out sign-ins
    "rules.permissions.ObjectPermissionBackend",
    "confide.staff.auth.EmailBlindIndexBackend",
]
LOGIN_URL = "/sign-in/"
LOGIN_REDIRECT_URL = "/work/"
# Lock an account (or a source address) for an hour after 5 failed sign-ins. Axes records the
# email's blind index, never the address, and keeps no log of successful sign-ins (ours does).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either locks: one account, or one source
AXES_USERNAME_CALLABLE = "confide.staff.auth.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_LOCKOUT_TEMPLATE = "staff/locked_out.html"
AXES_VERBOSE = False
OTP_TOTP_ISSUER = "Confide"
# WebAuthn passkeys: the relying party's domain and the exact origins staff sign in on. Unset
# (development, tests) they follow the request's own host, which ALLOWED_HOSTS has checked; in
# production set both, e.g. confide.example.gov.uk and https://confide.example.gov.uk.
CONFIDE_WEBAUTHN_RP_ID = os.environ.get("CONFIDE_WEBAUTHN_RP_ID", "")
CONFIDE_WEBAUTHN_ORIGINS = [
    o for o in os.environ.get("CONFIDE_WEBAUTHN_ORIGINS", "").split(",") if o
]
# Staff are signed out after this long without a request, and after 8 hours in any case.
CONFIDE_IDLE_TIMEOUT_MINUTES = int(os.environ.get("CONFIDE_IDLE_TIMEOUT_MINUTES", "15"))
SESSION_COOKIE_AGE = 8 * 60 * 60
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "messages"],
    }
}

LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en", "English"), ("cy", "Cymraeg")]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
# GOV.UK Frontend comes from npm at build time (package.json), never hand-copied.
STATICFILES_DIRS = [("govuk", NODE_MODULES / "govuk-frontend" / "dist" / "govuk")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script or style anywhere (GOV.UK Frontend's `js-enabled` snippet is a file,
# web/js-enabled.js), so no nonce or hash is needed and none is allowed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = os.environ.get("CONFIDE_SSL_REDIRECT", "1") == "1"
    # Load balancers and Prometheus probe app servers directly over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A claimed queue item left untouched this long is offered to the next tracer.
CONFIDE_CLAIM_TIMEOUT_MINUTES = int(os.environ.get("CONFIDE_CLAIM_TIMEOUT_MINUTES", "30"))
# A new case has this long to give their contacts online before a tracer calls (confide.public).
CONFIDE_SELF_SERVICE_HOURS = int(os.environ.get("CONFIDE_SELF_SERVICE_HOURS", "24"))

CONFIDE_KEYS_FILE = Path(
    os.environ.get("CONFIDE_KEYS_FILE", DATA_DIR / "keys" / "keyring.json")
).resolve()
# Retention epoch keys (docs/architecture.md): a file every server shares, never in the
# database; empty means `epochs.json` beside the key ring file.
CONFIDE_EPOCH_KEYS_FILE = os.environ.get("CONFIDE_EPOCH_KEYS_FILE", "")

# JSON lines in production (one object per line, with the request id); plain text by default
# in development. Either way no path, query string or personal value is logged by our code.
CONFIDE_LOG_FORMAT = os.environ.get("CONFIDE_LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "confide.observability.logs.RequestIdFilter"},
        "without_path": {"()": "confide.observability.logs.WithoutRequestPath"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "confide.observability.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": CONFIDE_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["without_path"]},
        "django.server": {"filters": ["without_path"]},
    },
}
# Prometheus scrapes /metrics with this bearer token; unset, /metrics answers 404.
CONFIDE_METRICS_TOKEN = os.environ.get("CONFIDE_METRICS_TOKEN", "")

# --- Messaging -------------------------------------------------------------------------------
# Every email, from Confide or from any library, goes through the one-recipient backend, which
# wraps the real transport chosen here: smtp, file (the demo's "sent mail"), console or notify.
EMAIL_BACKEND = "confide.messaging.backends.OneRecipientEmailBackend"
CONFIDE_EMAIL_TRANSPORT = os.environ.get("CONFIDE_EMAIL_TRANSPORT", "file")
CONFIDE_EMAIL_TRANSPORT_BACKEND = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "notify": "django.core.mail.backends.smtp.EmailBackend",  # Django's own mail, if any
}.get(CONFIDE_EMAIL_TRANSPORT, CONFIDE_EMAIL_TRANSPORT)
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "") == "1"
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "15"))
DEFAULT_FROM_EMAIL = os.environ.get("CONFIDE_FROM_EMAIL", "Confide <no-reply@confide.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CONFIDE_ALLOWED_SENDERS = [DEFAULT_FROM_EMAIL]
CONFIDE_REPLY_TO_ADDRESSES = [
    a for a in os.environ.get("CONFIDE_REPLY_TO_ADDRESSES", "").split(",") if a
]
CONFIDE_MESSAGE_ID_DOMAIN = os.environ.get("CONFIDE_MESSAGE_ID_DOMAIN", "confide.invalid")
CONFIDE_SMS_TRANSPORT = os.environ.get("CONFIDE_SMS_TRANSPORT", "file")
CONFIDE_SMS_FILE_PATH = DATA_DIR / "sms" / "outbox.jsonl"
CONFIDE_NOTIFY_API_KEY = os.environ.get("CONFIDE_NOTIFY_API_KEY", "")
CONFIDE_NOTIFY_BASE_URL = os.environ.get(
    "CONFIDE_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
)
CONFIDE_NOTIFY_CALLBACK_TOKEN = os.environ.get("CONFIDE_NOTIFY_CALLBACK_TOKEN", "")
CONFIDE_NOTIFY_EMAIL_TEMPLATE_ID = os.environ.get("CONFIDE_NOTIFY_EMAIL_TEMPLATE_ID", "")
CONFIDE_NOTIFY_SMS_TEMPLATE_ID = os.environ.get("CONFIDE_NOTIFY_SMS_TEMPLATE_ID", "")
CONFIDE_PUBLIC_BASE_URL = os.environ.get("CONFIDE_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
CONFIDE_MESSAGE_RETENTION_DAYS = int(os.environ.get("CONFIDE_MESSAGE_RETENTION_DAYS", "7"))
CONFIDE_MESSAGE_LEASE_SECONDS = int(os.environ.get("CONFIDE_MESSAGE_LEASE_SECONDS", "120"))
CONFIDE_MESSAGE_MAX_ATTEMPTS = int(os.environ.get("CONFIDE_MESSAGE_MAX_ATTEMPTS", "12"))
CONFIDE_MESSAGE_BATCH_SIZE = int(os.environ.get("CONFIDE_MESSAGE_BATCH_SIZE", "100"))
# Breach detectors (confide/dpo/detectors.py); the reasons for each default are in docs/dpo.md.
CONFIDE_DPO_VIEWING_WINDOW_MINUTES = int(os.environ.get("CONFIDE_DPO_VIEWING_WINDOW_MINUTES", "60"))
CONFIDE_DPO_MASS_VIEWING_PEOPLE = int(os.environ.get("CONFIDE_DPO_MASS_VIEWING_PEOPLE", "40"))
CONFIDE_DPO_BULK_EXPORT_PEOPLE = int(os.environ.get("CONFIDE_DPO_BULK_EXPORT_PEOPLE", "20"))
CONFIDE_DPO_UNASSIGNED_WINDOW_HOURS = int(
    os.environ.get("CONFIDE_DPO_UNASSIGNED_WINDOW_HOURS", "24")
)
CONFIDE_DPO_UNASSIGNED_VIEWING_PEOPLE = int(
    os.environ.get("CONFIDE_DPO_UNASSIGNED_VIEWING_PEOPLE", "5")
)
CONFIDE_DPO_FAILED_LOGIN_WINDOW_MINUTES = int(
    os.environ.get("CONFIDE_DPO_FAILED_LOGIN_WINDOW_MINUTES", "15")
)
CONFIDE_DPO_FAILED_LOGIN_STORM = int(os.environ.get("CONFIDE_DPO_FAILED_LOGIN_STORM", "50"))
# Retention (confide/dpo/retention.py, `confide retention sweep`); the defaults: docs/dpo.md.
CONFIDE_RETENTION_CONTACT_DAYS = int(os.environ.get("CONFIDE_RETENTION_CONTACT_DAYS", "21"))
CONFIDE_RETENTION_CASE_YEARS = int(os.environ.get("CONFIDE_RETENTION_CASE_YEARS", "8"))
# Sends per second per worker process (a provider's limit divided by the number of workers);
# 0 means no limit. GOV.UK Notify allows 3,000 messages a minute per service.
CONFIDE_MESSAGE_RATE_PER_SECOND = {
    "email": float(os.environ.get("CONFIDE_EMAIL_RATE_PER_SECOND", "0")),
    "sms": float(os.environ.get("CONFIDE_SMS_RATE_PER_SECOND", "0")),
}
# Isolation support payments (confide/support; docs/support.md). England's 2020 scheme: £500.
CONFIDE_SUPPORT_PAYMENT_PENCE = int(os.environ.get("CONFIDE_SUPPORT_PAYMENT_PENCE", "50000"))
CONFIDE_SUPPORT_EVIDENCE_MAX_BYTES = int(
    os.environ.get("CONFIDE_SUPPORT_EVIDENCE_MAX_BYTES", str(5 * 1024 * 1024))
)
# Claims are accepted up to this many days after isolation starts (England 2020: 42).
CONFIDE_SUPPORT_CLAIM_WINDOW_DAYS = int(os.environ.get("CONFIDE_SUPPORT_CLAIM_WINDOW_DAYS", "42"))
# Where requests for practical help (food, medicine) are routed: the local support contact.
CONFIDE_SUPPORT_LOCAL_CONTACT = os.environ.get(
    "CONFIDE_SUPPORT_LOCAL_CONTACT", "Your local council’s self-isolation support team"
)
