import json
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from twilio.request_validator import RequestValidator

from calls.messaging import backends
from tests.factories import BusinessHoursFactory, LocationFactory, PhoneNumberFactory, PracticeFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "twilio"
# A Wednesday, 10:00 in New York: open, and outside quiet hours.
WEDNESDAY_MORNING = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def fixture(name: str, **overrides) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text()) | overrides


def sign(path: str, params: dict, *, token: str | None = None, base: str | None = None) -> str:
    url = f"{base or settings.PUBLIC_BASE_URL}{path}"
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(WEDNESDAY_MORNING, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def outbox():
    backends.outbox.clear()
    yield backends.outbox
    backends.outbox.clear()


@pytest.fixture
def line(db):
    """Glow-like practice: a New York location open 9-19 every day, its Twilio number and desk line."""
    practice = PracticeFactory(brand_name="Glow Aesthetics", contact_phone="+12125550143")
    location = LocationFactory(practice=practice, time_zone="America/New_York", phone="+12125550143")
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(19))
    return PhoneNumberFactory(
        practice=practice, location=location, number="+12125550100", forwards_to="+12125550143", ring_timeout_seconds=20
    )


@pytest.fixture
def twilio(client, django_capture_on_commit_callbacks):
    """POST a signed webhook the way Twilio does, running what the request queues after commit."""

    def post(path: str, params: dict, *, signature: str | None = None, headers: dict | None = None):
        extra = {"HTTP_X_TWILIO_SIGNATURE": signature if signature is not None else sign(path, params)}
        extra.update(headers or {})
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, params, **extra)

    return post
