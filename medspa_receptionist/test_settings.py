"""Settings for the test suite: the real settings, with test-only defaults for what a developer's
shell may not set. CI sets DATABASE_URL to PostgreSQL; without it the tests use SQLite."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")
os.environ.setdefault("PUBLIC_BASE_URL", "https://receptionist.test")
os.environ.setdefault("TWILIO_AUTH_TOKEN", "test-auth-token")
os.environ.setdefault("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000")
os.environ.setdefault("MESSAGING_BACKEND", "locmem")

from .settings import *  # noqa: E402,F403
from .settings import Q_CLUSTER, STORAGES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "patient_media": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
# Tasks run inline in tests (and re-raise); schedules are run by calling the scheduler directly.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
ALLOWED_HOSTS = ["*"]
WHITENOISE_AUTOREFRESH = True
# The test client speaks plain HTTP; production redirects to HTTPS (checked by `check --deploy` in CI).
SECURE_SSL_REDIRECT = False
# Each test run keeps its own cache, whatever REDIS_URL the shell has.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
