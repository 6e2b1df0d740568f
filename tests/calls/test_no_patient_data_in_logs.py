"""A whole conversation, logged at DEBUG from every logger: no phone number, name or message text."""

import logging

import pytest
from django.test.utils import override_settings

from escalations.models import Escalation
from tests.calls.conftest import fixture
from tests.calls.test_dialogue import Patient, spa  # noqa: F401 (spa is a fixture)

PHONE = "+16465550188"


@pytest.fixture
def everything_logged(caplog):
    """Every logger at DEBUG except those the settings hold at WARNING (as LOG_LEVEL=DEBUG would)."""
    caplog.set_level(logging.DEBUG)
    for name in ("calls", "escalations", "booking", "practices", "analytics", "django_q", "django.request"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@override_settings(DEBUG=True)  # Django logs SQL (with its parameters) only in DEBUG; the guard must hold anyway
def test_a_full_conversation_logs_no_patient_data(spa, twilio, outbox, everything_logged, settings):  # noqa: F811
    for guarded in ("django.db.backends", "twilio.http_client"):
        assert logging.getLogger(guarded).getEffectiveLevel() == logging.WARNING
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming", From=PHONE))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer", From=PHONE))
    patient = Patient(twilio, outbox, phone=PHONE)
    said = [
        "Hi, I'm Avery Quinlan, do you have anything for botox next week?",
        "no, first time",
        "2",
        "also is it safe to get botox while breastfeeding?",
    ]
    for words in said[:3]:
        patient.text(words)
    twilio(
        "/webhooks/twilio/sms/",
        fixture("sms_inbound", Body=said[3], From=PHONE, MessageSid="SM" + "7" * 32, SmsSid="SM" + "7" * 32),
    )
    assert Escalation.objects.filter(category="clinical").exists()  # the clinical question reached staff
    logged = "\n".join(
        record.getMessage() + " " + " ".join(str(arg) for arg in (record.args or ()))
        for record in everything_logged.records
    )
    assert logged  # something was logged, so the check below means something
    for secret in [
        PHONE,
        PHONE[2:],
        "6465550188",
        "Avery",
        "Quinlan",
        "breastfeeding",
        "botox next week",
        "first time",
    ]:
        assert secret not in logged, f"{secret!r} appeared in the logs"
