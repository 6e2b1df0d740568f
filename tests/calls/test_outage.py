"""The database goes away during a webhook: callers hear a promise, texts come back later, once."""

import contextlib
import time

from django.db import OperationalError, connection

from calls.models import Call, Message, Outreach
from tests.calls.conftest import fixture

SMS = "/webhooks/twilio/sms/"
SID = "SM9a8b7c6d5e4f3a2b1c9a8b7c6d5e4f3a"


@contextlib.contextmanager
def database_down():
    """Every query fails the way psycopg fails when the server is unreachable."""

    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    with connection.execute_wrapper(refuse):
        yield


def test_a_call_during_an_outage_hears_a_polite_promise_at_once(line, twilio):
    with database_down():
        started = time.perf_counter()
        response = twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
        elapsed = time.perf_counter() - started
    body = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    assert "<Say" in body and "call you back" in body and "<Hangup" in body
    assert elapsed < 1.0
    assert Call.objects.count() == 0  # nothing half-stored


def test_a_text_during_an_outage_gets_a_503_and_its_redelivery_is_handled_exactly_once(line, twilio, outbox):
    params = fixture("sms_inbound", Body="Do you have anything for botox next week?", MessageSid=SID, SmsSid=SID)
    with database_down():
        refused = twilio(SMS, params)
    assert refused.status_code == 503 and refused["Retry-After"] == "30"
    assert Message.objects.count() == 0 and outbox == []

    # The database is back; Twilio delivers the same message again, and then once more (a retry race).
    assert twilio(SMS, params).status_code == 200
    assert twilio(SMS, params).status_code == 200
    assert Message.objects.filter(direction="inbound", provider_sid=SID).count() == 1
    assert Message.objects.get(direction="inbound").processed_at is not None
    assert Outreach.objects.filter(kind="reply").count() == 1
    assert len(outbox) == 1


def test_a_status_callback_during_an_outage_is_retried_too(line, twilio):
    with database_down():
        response = twilio("/webhooks/twilio/sms/status/", {"MessageSid": SID, "MessageStatus": "delivered"})
    assert response.status_code == 503
