"""Calls: ring the desk in hours, the receptionist after hours, a missed call recorded and texted back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, Outreach
from practices.models import Closure
from tests.calls.conftest import fixture

VOICE = "/webhooks/twilio/voice/"
DIAL = "/webhooks/twilio/voice/dial-status/"


def test_in_hours_the_call_rings_the_front_desk_with_screening(line, twilio):
    response = twilio(VOICE, fixture("voice_incoming"))
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/xml")
    assert '<Dial action="https://receptionist.test/webhooks/twilio/voice/dial-status/"' in body
    assert 'timeout="20"' in body and 'answerOnBridge="true"' in body
    assert (
        '<Number method="POST" url="https://receptionist.test/webhooks/twilio/voice/screen/">+12125550143</Number>'
        in body
    )
    call = Call.objects.get()
    assert (call.from_phone, call.missed, call.location) == ("+16465550188", False, line.location)


def test_after_hours_the_receptionist_answers_and_the_text_back_goes_out(line, twilio, clock, outbox):
    clock.move_to(timezone.now().replace(hour=1))  # 8 pm in New York: closed, not yet quiet hours
    response = twilio(VOICE, fixture("voice_incoming"))
    body = response.content.decode()
    assert "automated assistant" in body and "Glow Aesthetics" in body
    assert 'input="speech"' in body and 'actionOnEmptyResult="true"' in body
    assert "/webhooks/twilio/voice/gather/" in body
    call = Call.objects.get()
    assert (call.missed, call.missed_reason) == (True, "after_hours")
    assert [sent.to for sent in outbox] == ["+16465550188"]
    assert "Glow Aesthetics" in outbox[0].body and outbox[0].body.count("?") == 1


def test_a_holiday_counts_as_after_hours(line, twilio):
    Closure.objects.create(
        practice=line.practice,
        name="Holiday",
        starts_on=timezone.localdate(timezone=line.location.zone),
        ends_on=timezone.localdate(timezone=line.location.zone),
    )
    twilio(VOICE, fixture("voice_incoming"))
    assert Call.objects.get().missed_reason == "after_hours"


@pytest.mark.parametrize(
    ("dial_status", "reason"),
    [("no-answer", "no_answer"), ("busy", "busy"), ("failed", "failed"), ("canceled", "canceled")],
)
def test_an_unanswered_dial_is_a_missed_call_with_its_reason(line, twilio, outbox, dial_status, reason):
    twilio(VOICE, fixture("voice_incoming"))
    response = twilio(DIAL, fixture("voice_dial_status_no_answer", DialCallStatus=dial_status))
    assert "<Gather" in response.content.decode()
    call = Call.objects.get()
    assert (call.missed, call.missed_reason, call.answered_by) == (True, reason, "receptionist")
    assert len(outbox) == 1
    assert Outreach.objects.filter(call=call, kind="follow_up").count() == 4


def test_a_dial_answered_by_voicemail_is_missed_and_one_taken_by_staff_is_not(line, twilio, outbox):
    twilio(VOICE, fixture("voice_incoming"))
    twilio(DIAL, fixture("voice_dial_status_completed"))
    assert Call.objects.get().missed_reason == "not_accepted"
    assert len(outbox) == 1

    second = {"CallSid": "CA22222222222222222222222222222222"}
    twilio(VOICE, fixture("voice_incoming", **second))
    screen = twilio("/webhooks/twilio/voice/screen/", fixture("voice_screen", ParentCallSid=second["CallSid"]))
    assert "Press 1" in screen.content.decode()
    accepted = twilio(
        "/webhooks/twilio/voice/screen/accept/", fixture("voice_screen_accept", ParentCallSid=second["CallSid"])
    )
    assert "<Hangup" not in accepted.content.decode()
    response = twilio(DIAL, fixture("voice_dial_status_completed", **second))
    assert "<Hangup" in response.content.decode()
    taken = Call.objects.get(call_sid=second["CallSid"])
    assert (taken.missed, taken.accepted_by_staff, taken.answered_by) == (False, True, "staff")
    assert len(outbox) == 1


def test_a_screen_without_the_key_hangs_up_the_staff_leg(line, twilio):
    twilio(VOICE, fixture("voice_incoming"))
    response = twilio("/webhooks/twilio/voice/screen/accept/", fixture("voice_screen_accept", Digits=""))
    assert "<Hangup" in response.content.decode()
    assert not Call.objects.get().accepted_by_staff


def test_the_same_call_delivered_twice_is_one_call_and_one_text(line, twilio, outbox):
    for _ in range(2):
        twilio(VOICE, fixture("voice_incoming"))
        twilio(DIAL, fixture("voice_dial_status_no_answer"))
    assert Call.objects.count() == 1
    assert len(outbox) == 1
    assert Outreach.objects.filter(kind="text_back").count() == 1


def test_speech_from_the_caller_is_stored_and_the_receptionist_keeps_listening(line, twilio):
    from calls.models import Message

    twilio(VOICE, fixture("voice_incoming"))
    twilio(DIAL, fixture("voice_dial_status_no_answer"))
    response = twilio("/webhooks/twilio/voice/gather/", fixture("voice_gather"))
    body = response.content.decode()
    assert "<Gather" in body and "?turn=1" in body and "<Say" in body
    twilio("/webhooks/twilio/voice/gather/", fixture("voice_gather"))
    spoken = Message.objects.get(channel="voice")
    assert spoken.body == "Hi, I wanted to ask about Botox next week." and spoken.intent == "book"


def test_status_callbacks_move_a_call_forward_only(line, twilio):
    twilio(VOICE, fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/status/", fixture("voice_status_completed"))
    twilio("/webhooks/twilio/voice/status/", fixture("voice_status_completed", CallStatus="ringing"))
    call = Call.objects.get()
    assert (call.status, call.duration_seconds) == ("completed", 42)


def test_a_number_of_no_practice_gets_an_empty_answer_and_is_never_routed(line, twilio, outbox):
    response = twilio(VOICE, fixture("voice_incoming", To="+19175550134", Called="+19175550134"))
    assert response.status_code == 200
    assert response.content.decode().strip().endswith("<Response />")
    assert not Call.objects.exists() and outbox == []


@pytest.mark.parametrize("missing", ["CallSid", "From", "To"])
def test_a_call_without_a_required_field_is_a_400_with_the_reason(line, twilio, missing):
    params = fixture("voice_incoming")
    del params[missing]
    response = twilio(VOICE, params)
    assert response.status_code == 400 and missing in response.content.decode()


def test_an_anonymous_caller_is_recorded_but_not_texted(line, twilio, outbox, clock):
    clock.move_to(timezone.now() + timedelta(hours=10))  # 8 pm New York
    twilio(VOICE, fixture("voice_incoming", From="Anonymous", Caller="Anonymous"))
    call = Call.objects.get()
    assert call.missed and call.from_phone == ""
    assert outbox == []
    assert Outreach.objects.get(call=call).state_reason == "caller id withheld"


def test_a_malformed_duration_is_a_400(line, twilio):
    twilio(VOICE, fixture("voice_incoming"))
    response = twilio("/webhooks/twilio/voice/status/", fixture("voice_status_completed", CallDuration="forty"))
    assert response.status_code == 400 and "CallDuration" in response.content.decode()


def test_the_same_missed_call_delivered_concurrently_is_one_call_and_one_text(line, twilio, outbox, transactional_db):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent connections")
    barrier = threading.Barrier(6)
    codes = []

    def deliver():
        try:
            barrier.wait()
            codes.append(twilio(VOICE, fixture("voice_incoming")).status_code)
            codes.append(twilio(DIAL, fixture("voice_dial_status_no_answer")).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes == [200] * 12
    assert Call.objects.count() == 1
    assert Outreach.objects.filter(kind="text_back").count() == 1
    assert len(outbox) == 1
