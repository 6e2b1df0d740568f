"""Sign-in and session rules, and production settings that pass Django's deployment checks."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import StaffMemberFactory

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-test-password"


@pytest.fixture
def riley(db):
    return StaffMemberFactory(role="front_desk", user__username="riley").user


def sign_in(client, username="riley", password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_session_ends_after_15_idle_minutes_and_polling_is_not_activity(client, riley):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert sign_in(client).status_code == 302
        assert client.get("/console/").status_code == 200
        clock.shift(timedelta(minutes=10))
        # The queue counts poll by themselves: that must not keep an unattended tablet signed in.
        poll = client.get("/console/counts/", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="queue-counts")
        assert poll.status_code == 200
        clock.shift(timedelta(minutes=6))
        expired = client.get("/console/counts/", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="queue-counts")
        assert expired.status_code == 204 and expired["HX-Redirect"].startswith("/accounts/login/")
        response = client.get("/console/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_activity_keeps_a_session_but_never_past_12_hours(client, riley):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client)
        for _ in range(71):  # every 10 minutes for 11 h 50 min
            clock.shift(timedelta(minutes=10))
            assert client.get("/console/").status_code == 200
        clock.shift(timedelta(minutes=11))
        response = client.get("/console/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_expired_api_session_gets_a_401(client, riley):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client)
        assert client.get("/api/v1/escalations/").status_code == 200
        clock.shift(timedelta(minutes=16))
        response = client.get("/api/v1/escalations/")
        assert response.status_code == 401 and response.json() == {"detail": "Your session has expired."}


def test_repeated_failed_sign_ins_lock_the_account_out(client, riley):
    for _ in range(4):
        assert sign_in(client, password="wrong-password").status_code == 200  # the form again, with its error
    assert sign_in(client, password="wrong-password").status_code == 429  # the fifth failure locks
    locked = sign_in(client)  # even the right password, now
    assert locked.status_code == 429
    assert "too many failed attempts" in locked.content.decode()
    assert client.get("/console/").status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(client, riley):
    for _ in range(4):
        sign_in(client, password="wrong-password")
    assert sign_in(client).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, password="wrong-password")
    assert sign_in(client).status_code == 302


@pytest.mark.parametrize("weak", ["short-pw", "password1234", "123456789012", "qwertyuiop12"])
def test_weak_passwords_are_refused(riley, weak):
    with pytest.raises(ValidationError):
        validate_password(weak, user=riley)
    validate_password("calm-orchid-ledger-42", user=riley)


def test_production_settings_pass_the_deployment_checks():
    # Only what a deployment sets: nothing from this shell or a developer's .env leaks in.
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="medspa_receptionist.settings",
        DEBUG="0",  # over a developer's .env
        SECRET_KEY="x9$Kq2!vLr7#Tz4@Wm8^Pn3&Hs6*Jd1(Yb5)Gc0-Fa2+Ue7=Io9;Ql4:Xr8",
        ALLOWED_HOSTS="receptionist.example.com",
        PUBLIC_BASE_URL="https://receptionist.example.com",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="production-like-token",
        MESSAGING_BACKEND="twilio",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_pages_carry_the_security_headers(client, riley, settings):
    client.force_login(riley)
    response = client.get("/console/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
