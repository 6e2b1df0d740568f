"""Settings come from the environment, and a bad value stops the process at start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = [
    "SECRET_KEY",
    "DEBUG",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "MESSAGING_BACKEND",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "REDIS_URL",
    "EMAIL_URL",
    "ALLOWED_HOSTS",
    "LOG_LEVEL",
    "Q_WORKERS",
]


def start(**env) -> subprocess.CompletedProcess:
    """Start Django with only these settings in the environment, as a deployment would."""
    clean = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    clean.update(env, DJANGO_SETTINGS_MODULE="medspa_receptionist.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['ENGINE']); print(settings.Q_CLUSTER.get('redis', 'orm'))",
        ],
        cwd=ROOT / "tests" / "project",
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_secret_key_with_debug_off_fails_at_start():
    result = start(DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY is required" in result.stderr


def test_debug_off_with_a_secret_key_starts_on_sqlite_and_the_orm_broker():
    result = start(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "orm"]


def test_database_and_redis_urls_choose_postgres_and_redis():
    result = start(DEBUG="1", DATABASE_URL="postgres://u:p@db.example:5432/spa", REDIS_URL="redis://cache:6379/0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://cache:6379/0"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL must be a postgres"),
        ({"DEBUG": "1", "PUBLIC_BASE_URL": "spa.example.com"}, "PUBLIC_BASE_URL must be"),
        ({"DEBUG": "1", "PUBLIC_BASE_URL": "https://spa.example.com/hooks"}, "PUBLIC_BASE_URL must be"),
        ({"DEBUG": "1", "MESSAGING_BACKEND": "carrier-pigeon"}, "MESSAGING_BACKEND must be one of"),
        ({"DEBUG": "1", "MESSAGING_BACKEND": "twilio"}, "needs TWILIO_ACCOUNT_SID"),
        ({"DEBUG": "1", "TWILIO_ACCOUNT_SID": "XX123"}, "must start with AC"),
        ({"DEBUG": "1", "REDIS_URL": "http://cache"}, "REDIS_URL must be"),
        ({"DEBUG": "1", "Q_WORKERS": "many"}, "Q_WORKERS must be a whole number"),
        ({"DEBUG": "1", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
    ],
)
def test_a_bad_value_fails_at_start_with_a_clear_message(env, message):
    result = start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr
