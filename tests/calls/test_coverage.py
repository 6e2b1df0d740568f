"""Coverage modes per location, through the real voice webhooks, at the edges of business hours and on a
holiday. The line is open 9:00 to 19:00 in New York every day.

- after hours only: in hours the desk rings; a call it misses goes to the staff's callback queue with a
  short polite message (no receptionist, no text-back). Closed: the receptionist answers, as always.
- after hours and overflow (the default): the desk rings in hours; missed or busy, the receptionist.
- every call: the receptionist answers first in hours (an answered call, not a missed one); closed, as always.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.facts import compute
from booking.models import FollowUpTask
from calls.models import Call, Outreach
from practices.models import Closure
from tests.calls.conftest import fixture
from tests.factories import StaffMemberFactory

VOICE = "/webhooks/twilio/voice/"
DIAL = "/webhooks/twilio/voice/dial-status/"
GATHER = "/webhooks/twilio/voice/gather/"
NY = ZoneInfo("America/New_York")
CALLER = "+16465550188"

ONE_MINUTE_BEFORE_OPENING = (8, 59)
AT_OPENING = (9, 0)
ONE_MINUTE_BEFORE_CLOSING = (18, 59)
AT_CLOSING = (19, 0)
OPEN = [AT_OPENING, ONE_MINUTE_BEFORE_CLOSING]
CLOSED = [ONE_MINUTE_BEFORE_OPENING, AT_CLOSING]
MODES = ["after_hours", "overflow", "always"]


@pytest.fixture
def coverage(line):
    def set_mode(mode: str):
        line.location.coverage_mode = mode
        line.location.save(update_fields=["coverage_mode"])
        return line

    return set_mode


def wednesday_at(clock, hour: int, minute: int) -> None:
    clock.move_to(datetime(2026, 12, 2, hour, minute, tzinfo=NY))


def call_in(twilio) -> str:
    return twilio(VOICE, fixture("voice_incoming")).content.decode()


def desk_misses(twilio, status: str = "no-answer") -> str:
    return twilio(DIAL, fixture("voice_dial_status_no_answer", DialCallStatus=status)).content.decode()


def text_back_queued() -> bool:
    return Outreach.objects.filter(kind="text_back", state__in=["pending", "sending", "sent"]).exists()


def callbacks() -> list[FollowUpTask]:
    return list(FollowUpTask.objects.filter(kind="callback", status="open"))


def assert_the_receptionist_answers_after_hours(twiml: str, outbox) -> None:
    assert "<Dial" not in twiml and "<Gather" in twiml
    assert "Sorry we couldn't get to the phone" in twiml and "texting you now" in twiml
    call = Call.objects.get()
    assert (call.missed, call.missed_reason, call.answered_by) == (True, "after_hours", "receptionist")
    assert text_back_queued() and [sent.to for sent in outbox] == [CALLER]
    assert callbacks() == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("when", CLOSED, ids=["one minute before opening", "at closing"])
def test_outside_business_hours_every_mode_has_the_receptionist_answer(coverage, twilio, clock, outbox, mode, when):
    coverage(mode)
    wednesday_at(clock, *when)
    assert_the_receptionist_answers_after_hours(call_in(twilio), outbox)


@pytest.mark.parametrize("mode", MODES)
def test_a_holiday_counts_as_after_hours_in_every_mode(coverage, twilio, clock, outbox, mode):
    line = coverage(mode)
    wednesday_at(clock, 10, 0)
    today = timezone.localdate(timezone=line.location.zone)
    Closure.objects.create(practice=line.practice, name="Holiday", starts_on=today, ends_on=today)
    assert_the_receptionist_answers_after_hours(call_in(twilio), outbox)


@pytest.mark.parametrize("when", OPEN, ids=["at opening", "one minute before closing"])
def test_after_hours_only_rings_the_desk_and_a_missed_call_goes_to_the_callback_queue(
    coverage, twilio, clock, outbox, when
):
    coverage("after_hours")
    wednesday_at(clock, *when)
    assert "<Dial" in call_in(twilio) and "<Gather" not in call_in(twilio)
    twiml = desk_misses(twilio)
    assert "<Gather" not in twiml and "automated assistant" not in twiml
    assert "can't get to the phone right now" in twiml and "call you back" in twiml and "<Hangup" in twiml
    call = Call.objects.get()
    assert (call.missed, call.missed_reason, call.answered_by) == (True, "no_answer", "")
    assert not Outreach.objects.filter(call=call).exists() and outbox == []  # no text-back, no cadence
    [task] = callbacks()
    assert task.patient.phone == CALLER and "Missed call while open (no answer)" in task.reason


@pytest.mark.parametrize("status", ["busy", "failed", "completed"])
def test_after_hours_only_sends_busy_failed_and_voicemail_calls_to_the_callback_queue_once(
    coverage, twilio, outbox, status
):
    coverage("after_hours")
    call_in(twilio)
    for _ in range(2):  # Twilio retries: one callback, one missed call
        assert "<Hangup" in desk_misses(twilio, status)
    call = Call.objects.get()
    reason = {"busy": "busy", "failed": "failed", "completed": "not_accepted"}[status]
    assert (call.missed, call.missed_reason, call.answered_by) == (True, reason, "")
    assert len(callbacks()) == 1 and outbox == []


def test_after_hours_only_promises_no_callback_to_a_withheld_number(coverage, twilio, outbox):
    coverage("after_hours")
    hidden = {"From": "anonymous", "Caller": "anonymous"}
    twilio(VOICE, fixture("voice_incoming", **hidden))
    twiml = twilio(DIAL, fixture("voice_dial_status_no_answer", **hidden)).content.decode()
    assert "call us again" in twiml and "call you back" not in twiml
    assert Call.objects.get().missed and callbacks() == []


def test_after_hours_only_still_lets_staff_take_the_call(coverage, twilio, outbox):
    coverage("after_hours")
    call_in(twilio)
    twilio("/webhooks/twilio/voice/screen/accept/", fixture("voice_screen_accept"))
    assert "<Hangup" in twilio(DIAL, fixture("voice_dial_status_completed")).content.decode()
    call = Call.objects.get()
    assert (call.missed, call.answered_by) == (False, "staff")
    assert callbacks() == [] and outbox == []


@pytest.mark.parametrize("when", OPEN, ids=["at opening", "one minute before closing"])
@pytest.mark.parametrize("status", ["no-answer", "busy"])
def test_overflow_rings_the_desk_and_the_receptionist_takes_a_missed_or_busy_call(
    coverage, twilio, clock, outbox, when, status
):
    coverage("overflow")
    wednesday_at(clock, *when)
    assert "<Dial" in call_in(twilio)
    twiml = desk_misses(twilio, status)
    assert "<Gather" in twiml and "Sorry we couldn't get to the phone" in twiml
    call = Call.objects.get()
    assert (call.missed, call.missed_reason, call.answered_by) == (True, status.replace("-", "_"), "receptionist")
    assert text_back_queued() and [sent.to for sent in outbox] == [CALLER]
    assert callbacks() == []


@pytest.mark.parametrize("when", OPEN, ids=["at opening", "one minute before closing"])
def test_always_has_the_receptionist_answer_first_without_ringing_the_desk(coverage, twilio, clock, outbox, when):
    coverage("always")
    wednesday_at(clock, *when)
    twiml = call_in(twilio)
    assert "<Dial" not in twiml and "<Gather" in twiml
    assert "automated assistant" in twiml
    assert "Sorry we couldn't get to the phone" not in twiml and "texting you" not in twiml
    call = Call.objects.get()
    # Answered, not missed: no text-back, no callback, and analytics counts a call but no missed call.
    assert (call.missed, call.missed_reason, call.answered_by) == (False, "", "receptionist")
    assert not text_back_queued() and outbox == [] and callbacks() == []
    day = timezone.localdate(timezone=NY)
    facts = next(iter(compute(call.practice, day, day).values()))
    assert facts["calls"] == 1 and "missed" not in facts


def test_always_puts_a_caller_who_asks_for_a_person_through_to_the_desk(coverage, twilio, outbox):
    coverage("always")
    call_in(twilio)
    twiml = twilio(GATHER, fixture("voice_gather", SpeechResult="I want to talk to a person")).content.decode()
    assert "<Dial" in twiml and ">+12125550143</Number>" in twiml and "/voice/whisper/?escalation=" in twiml


def test_always_does_not_promise_a_text_to_a_caller_who_says_nothing(coverage, twilio, outbox):
    coverage("always")
    call_in(twilio)
    twiml = twilio(GATHER, fixture("voice_gather", SpeechResult="")).content.decode()
    assert "Thanks for calling" in twiml and "text you" not in twiml and outbox == []


def test_the_console_shows_which_mode_is_live_at_each_location(coverage, client, clock):
    line = coverage("after_hours")
    line.location.name = "Midtown"
    line.location.save(update_fields=["name"])
    desk = StaffMemberFactory(practice=line.practice).user
    wednesday_at(clock, 10, 0)
    client.force_login(desk)
    body = client.get(reverse("console-home")).content.decode()
    assert (
        "Coverage: Midtown — after hours only (open now: the desk answers; missed calls go to the callback queue)"
        in (body)
    )
    wednesday_at(clock, 19, 0)
    coverage("overflow")
    client.force_login(desk)  # signed in again: the session would have expired since the morning
    body = client.get(reverse("console-home")).content.decode()
    assert "Coverage: Midtown — after hours and overflow (closed now: the receptionist answers)" in body
