"""Settings for the med spa receptionist, all read from the environment.

Development runs with no environment at all except DEBUG=1 (the Makefile sets it): SQLite, the
django-q2 ORM broker, the console messaging backend. Production sets DATABASE_URL, REDIS_URL,
SECRET_KEY, ALLOWED_HOSTS, PUBLIC_BASE_URL and the Twilio credentials. A bad value stops the process
at start with ImproperlyConfigured instead of failing on the first request that needs it.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


DEBUG = _bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY in the environment "
            "(or DEBUG=1 for local development)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://localhost:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in {"http", "https"} or not _public.netloc or _public.path or _public.query:
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL must be the scheme and host Twilio calls, like https://spa.example.com, "
        f"not {PUBLIC_BASE_URL!r}."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "django_htmx",
    "csp",
    "simple_history",
    "axes",
    "practices",
    "booking",
    "escalations",
    "calls",
    "analytics",
    "medspa_receptionist.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "medspa_receptionist.sessions.SessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "practices.middleware.PracticeTimezoneMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Sign-in: django-axes locks an account (from one address) after repeated failures.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = _int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Sessions end after 15 minutes without activity and 12 hours after sign-in, whatever happens.
SESSION_IDLE_SECONDS = _int("SESSION_IDLE_MINUTES", 15, minimum=1) * 60
SESSION_MAX_SECONDS = _int("SESSION_MAX_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy: everything from our own origin; no inline scripts or styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "medspa_receptionist.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "medspa_receptionist.context_processors.demo_mode",
            ],
        },
    },
]

WSGI_APPLICATION = "medspa_receptionist.wsgi.application"

# Database: SQLite file by default, PostgreSQL when DATABASE_URL says so.
_SQLITE_DEFAULT = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
_database_url = env.str("DATABASE_URL", default="") or _SQLITE_DEFAULT
if urlsplit(_database_url).scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL must be a postgres:// or sqlite:/// URL, not one starting {_database_url.split(':')[0]!r}."
    )
try:
    _database = environ.Env.db_url_config(_database_url)
except Exception as exc:  # django-environ raises several kinds for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL could not be read: {exc}") from exc
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the qcluster write one file: WAL and immediate transactions keep them
    # from meeting "database is locked" (see TECH_NOTES).
    _database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    _database["CONN_MAX_AGE"] = _int("CONN_MAX_AGE", 60)
    _database["CONN_HEALTH_CHECKS"] = True
    # Fail fast when the database is down, so a webhook still answers Twilio in time (its limit is 15 s).
    _database.setdefault("OPTIONS", {})["connect_timeout"] = _int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1)
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Patients' pictures (MMS): private, outside anything the web server serves; staff see them only
    # through the console's audited view. A deployment points this at its own disk or bucket.
    "patient_media": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("PATIENT_MEDIA_ROOT", default=str(BASE_DIR / "private-media"))},
    },
}
MEDIA_ROOT = BASE_DIR / "media"
# Pictures patients may text: Twilio's own MMS limit is 5 MB per message.
PATIENT_MEDIA_MAX_BYTES = 5 * 1024 * 1024
PATIENT_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif")

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Twilio and the messaging layer.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")

MESSAGING_BACKENDS = {
    "console": "calls.messaging.backends.ConsoleBackend",
    "locmem": "calls.messaging.backends.LocmemBackend",
    "twilio": "calls.messaging.backends.TwilioBackend",
}
MESSAGING_BACKEND = env.str("MESSAGING_BACKEND", default="console")
if MESSAGING_BACKEND not in MESSAGING_BACKENDS:
    raise ImproperlyConfigured(
        f"MESSAGING_BACKEND must be one of {', '.join(sorted(MESSAGING_BACKENDS))}, not {MESSAGING_BACKEND!r}."
    )
if MESSAGING_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN):
    raise ImproperlyConfigured("MESSAGING_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
if TWILIO_ACCOUNT_SID and not TWILIO_ACCOUNT_SID.startswith("AC"):
    raise ImproperlyConfigured("TWILIO_ACCOUNT_SID must start with AC (it is the account's SID).")

# A development auth token lets the patient simulator sign its requests like Twilio would.
if not TWILIO_AUTH_TOKEN and DEBUG:
    TWILIO_AUTH_TOKEN = "development-auth-token"

# Email: console in development, any django-environ EMAIL_URL (smtp://...) in production.
try:
    _email = environ.Env.email_url_config(env.str("EMAIL_URL", default="consolemail://"))
except Exception as exc:
    raise ImproperlyConfigured(f"EMAIL_URL could not be read: {exc}") from exc
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="receptionist@localhost")

# django-q2: Redis as the broker when REDIS_URL is set, the ORM broker otherwise. The ORM broker's
# poll is tuned down so that a missed-call text-back starts within a fraction of a second.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, not {REDIS_URL!r}.")
Q_CLUSTER = {
    "name": "medspa",
    "workers": _int("Q_WORKERS", 4, minimum=1),
    "timeout": 60,
    "retry": 120,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2
if _bool("Q_SYNC", False):
    Q_CLUSTER["sync"] = True

# The cache holds throttles (bad intake links) and short calendar holds: shared by every process
# through Redis when it is there, per process otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "medspa",
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Med spa receptionist API",
    "DESCRIPTION": "Availability, appointments and treatment series, scoped to the caller's practice.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs pages load their assets from this server (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Logging: never log patient data. Messages name ids, never phones, names or texts.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # These would write patient data at lower levels: SQL parameters (phones, names, texts) and the
        # bodies of Twilio API requests. Kept at WARNING whatever LOG_LEVEL says.
        "django.db.backends": {"level": "WARNING"},
        "twilio": {"level": "WARNING"},
        "twilio.http_client": {"level": "WARNING"},
    },
}

# Connected calendars (CalDAV). App passwords are stored encrypted with CALENDAR_ENCRYPTION_KEY (Fernet keys,
# comma-separated, the first encrypts), or with a key derived from SECRET_KEY when it is not set (booking/crypto.py).
CALENDAR_ENCRYPTION_KEYS = env.list("CALENDAR_ENCRYPTION_KEY", default=[])
for _key in CALENDAR_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "CALENDAR_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes each), comma-separated; "
            "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
# Seconds to wait for a calendar server: a booking re-checks the calendar before it books, so keep it short.
CALDAV_TIMEOUT_SECONDS = _int("CALDAV_TIMEOUT_SECONDS", 5, minimum=1)

# Demo conveniences (the patient simulator) are on in development and off in production.
DEMO_MODE = _bool("DEMO_MODE", DEBUG)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's plain-HTTP health check
    SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", True)
