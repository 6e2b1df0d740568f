"""The automated voice callback in the follow-up cadence: a missed caller who said nothing and did not
answer the text is called back once, in allowed hours, by the receptionist, through our own voice flow."""

import json
import logging
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response

from analytics.filters import Filters
from analytics.selectors import dashboard
from booking.services import callback_request
from calls.messaging import backends
from calls.messaging.services import outreach_send
from calls.models import Call, Message, Outreach
from calls.tasks import outreach_sweep
from practices.models import BlockedNumber, Closure, Practice
from practices.services import consent_record
from tests.calls.conftest import fixture
from tests.factories import AppointmentFactory, PatientFactory

NY = ZoneInfo("America/New_York")
CALLER = "+16465550188"
ACCOUNT = "AC00000000000000000000000000000000"
TWILIO_CALL_SID = "CA9c8b7a6f5e4d3c2b1a9c8b7a6f5e4d3c"


@pytest.fixture(autouse=True)
def placed():
    backends.calls_placed.clear()
    yield backends.calls_placed
    backends.calls_placed.clear()


@pytest.fixture
def callbacks_on(line):
    line.practice.voice_callbacks = True
    line.practice.save(update_fields=["voice_callbacks"])
    return line


def miss_a_call(twilio, **overrides):
    """Ring the spa; nobody at the desk takes it, and the caller hangs up on the receptionist in silence."""
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming", **overrides))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer", **overrides))
    return Call.objects.get(call_sid=overrides.get("CallSid", fixture("voice_incoming")["CallSid"]))


def sweep_at(clock, moment):
    clock.move_to(moment)
    outreach_sweep()


def the_callback(call):
    return Outreach.objects.get(call=call, kind=Outreach.Kind.CALLBACK)


def test_a_silent_caller_who_does_not_reply_is_called_back_once_an_hour_after_the_text(
    callbacks_on, twilio, outbox, placed, clock
):
    call = miss_a_call(twilio)
    sweep_at(clock, call.missed_at + timedelta(minutes=6))
    sweep_at(clock, call.missed_at + timedelta(minutes=31))
    assert placed == [] and len(outbox) == 3  # the text-back and two follow-ups, no call yet

    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    [dialled] = placed
    callback = Call.objects.get(direction=Call.Direction.CALLBACK)
    assert (dialled.to, dialled.from_) == (CALLER, "+12125550100")
    assert dialled.url == f"https://receptionist.test/webhooks/twilio/voice/callback/?call={callback.pk}"
    assert dialled.status_callback == "https://receptionist.test/webhooks/twilio/voice/status/"
    assert (callback.callback_of, callback.from_phone, callback.phone_number) == (call, CALLER, call.phone_number)
    assert callback.call_sid.startswith("CA") and not callback.missed
    outreach = the_callback(call)
    assert outreach.state == Outreach.State.SENT and outreach.channel == "voice"

    # Sweeps, a task retried by the queue, a row put back to pending: nothing rings twice.
    sweep_at(clock, call.missed_at + timedelta(minutes=62))
    assert outreach_send(outreach.pk) == "not claimed"
    Outreach.objects.filter(pk=outreach.pk).update(state=Outreach.State.PENDING)
    assert outreach_send(outreach.pk) == "cancelled"
    assert the_callback(call).state_reason == "already called back"
    with pytest.raises(IntegrityError), transaction.atomic():
        Outreach.objects.create(practice=call.practice, kind=Outreach.Kind.CALLBACK, step=0, call=call, phone=CALLER)
    assert len(placed) == 1 and Call.objects.filter(direction=Call.Direction.CALLBACK).count() == 1


class FakeTwilioHttp(HttpClient):
    """Answers like api.twilio.com for messages and calls, and remembers what it was asked."""

    def __init__(self, call_status=201):
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=False)
        self.requests = []
        self.call_status = call_status

    def request(
        self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        data = dict(data or {})
        self.requests.append({"method": method, "uri": uri, "data": data})
        if uri.endswith("/Calls.json"):
            if self.call_status >= 400:
                body = {"code": 21215, "message": "Geo permission", "status": self.call_status}
                return Response(self.call_status, json.dumps(body))
            body = {"sid": TWILIO_CALL_SID, "status": "queued", "account_sid": ACCOUNT, "to": data["To"]}
            return Response(201, json.dumps(body))
        body = {"sid": f"SM{len(self.requests):032d}", "status": "queued", "account_sid": ACCOUNT, "to": data["To"]}
        return Response(201, json.dumps(body))


@pytest.fixture
def twilio_api(settings, monkeypatch):
    """The production backend, driving the real twilio library; only its HTTP is fake."""
    http = FakeTwilioHttp()
    settings.MESSAGING_BACKEND = "twilio"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    monkeypatch.setattr(backends.TwilioBackend, "http_client", http)
    return http


def test_the_twilio_backend_places_the_call_to_our_voice_flow_which_answers_and_listens(
    callbacks_on, twilio, twilio_api, clock
):
    call = miss_a_call(twilio)
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    [request] = [r for r in twilio_api.requests if r["uri"].endswith("/Calls.json")]
    callback = Call.objects.get(direction=Call.Direction.CALLBACK)
    assert request["method"] == "POST"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert request["data"] == {
        "To": CALLER,
        "From": "+12125550100",
        "Url": f"https://receptionist.test/webhooks/twilio/voice/callback/?call={callback.pk}",
        "StatusCallback": "https://receptionist.test/webhooks/twilio/voice/status/",
        "MachineDetection": "DetectMessageEnd",
    }
    assert callback.call_sid == TWILIO_CALL_SID

    # The patient picks up: Twilio asks our TwiML, signed over the exact URL it was given.
    url = urlsplit(request["data"]["Url"])
    answer = twilio(f"{url.path}?{url.query}", fixture("voice_callback_answered")).content.decode()
    assert "Hi, this is the automated assistant for Glow Aesthetics, calling back about your call earlier." in answer
    assert 'input="speech"' in answer and 'action="https://receptionist.test/webhooks/twilio/voice/gather/"' in answer
    callback.refresh_from_db()
    assert (callback.status, callback.answered_by) == ("in-progress", "receptionist")

    # What they say goes through the receptionist's own gather, as the patient, on our number.
    spoken = fixture("voice_callback_answered", SpeechResult="Do you have anything for a HydraFacial?")
    reply = twilio("/webhooks/twilio/voice/gather/", spoken).content.decode()
    assert "<Say" in reply
    heard = Message.objects.get(direction="inbound", channel="voice", body__contains="HydraFacial")
    assert heard.provider_sid.startswith(f"{TWILIO_CALL_SID}:speech:")
    assert (heard.conversation.phone, heard.conversation.practice_number) == (CALLER, "+12125550100")

    # Twilio's status callbacks find the callback by its CallSid.
    twilio("/webhooks/twilio/voice/status/", fixture("voice_status_completed", CallSid=TWILIO_CALL_SID))
    callback.refresh_from_db()
    assert (callback.status, callback.duration_seconds) == ("completed", 42)


def test_a_voicemail_gets_a_short_message_without_patient_details_and_a_hang_up(callbacks_on, twilio, clock):
    PatientFactory(practice=callbacks_on.practice, phone=CALLER, first_name="Olivia")
    call = miss_a_call(twilio)
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    callback = Call.objects.get(direction=Call.Direction.CALLBACK)
    machine = fixture("voice_callback_answered", CallSid=callback.call_sid, AnsweredBy="machine_end_beep")
    answer = twilio(f"/webhooks/twilio/voice/callback/?call={callback.pk}", machine).content.decode()
    assert "automated assistant for Glow Aesthetics" in answer and "(212) 555-0100" in answer
    assert "<Hangup />" in answer and "<Gather" not in answer and "Olivia" not in answer
    callback.refresh_from_db()
    assert callback.answered_by == ""


def test_the_callback_twiml_answers_only_for_our_own_callbacks(callbacks_on, twilio, clock):
    call = miss_a_call(twilio)
    # The missed (inbound) call is not a callback: a forged-looking id gets a hang-up, nothing else.
    answer = twilio(f"/webhooks/twilio/voice/callback/?call={call.pk}", fixture("voice_callback_answered"))
    assert "<Hangup />" in answer.content.decode() and "<Say" not in answer.content.decode()
    unsigned = twilio("/webhooks/twilio/voice/callback/?call=1", fixture("voice_callback_answered"), signature="x")
    assert unsigned.status_code == 403


@pytest.mark.parametrize(
    ("missed_at", "deferred_to"),
    [
        # Closed at 7 pm (not yet quiet hours): the next opening, 9 am.
        (datetime(2026, 12, 2, 18, 30, tzinfo=NY), datetime(2026, 12, 3, 9, 0, tzinfo=NY)),
        # Missed at 10:30 pm: the text-back waits for 8 am, and the callback an hour after it.
        (datetime(2026, 12, 2, 22, 30, tzinfo=NY), datetime(2026, 12, 3, 9, 0, tzinfo=NY)),
    ],
)
def test_never_in_quiet_hours_or_closed_hours_deferred_to_the_morning_and_still_once(
    callbacks_on, twilio, placed, clock, missed_at, deferred_to
):
    clock.move_to(missed_at)
    call = miss_a_call(twilio)
    moment = missed_at + timedelta(minutes=61)
    while moment < deferred_to:  # a sweep every half hour through the night
        sweep_at(clock, moment)
        assert placed == [], moment.astimezone(NY)
        moment += timedelta(minutes=30)
    assert the_callback(call).due_at >= deferred_to
    sweep_at(clock, deferred_to + timedelta(minutes=5))
    sweep_at(clock, deferred_to + timedelta(minutes=35))
    assert len(placed) == 1 and the_callback(call).state == Outreach.State.SENT


def test_a_callback_that_cannot_go_within_a_day_is_dropped(callbacks_on, twilio, placed, clock):
    Closure.objects.create(
        practice=callbacks_on.practice, name="Winter break", starts_on=date(2026, 12, 3), ends_on=date(2026, 12, 4)
    )
    clock.move_to(datetime(2026, 12, 2, 18, 30, tzinfo=NY))
    call = miss_a_call(twilio)
    sweep_at(clock, datetime(2026, 12, 2, 19, 31, tzinfo=NY))
    assert placed == []
    callback = the_callback(call)
    assert (callback.state, callback.state_reason) == ("skipped", "no allowed time within a day of the missed call")


def _text(twilio, body):
    twilio(
        "/webhooks/twilio/sms/",
        fixture("sms_inbound", Body=body, MessageSid=f"SM{abs(hash(body)) % 10**32:032d}"),
    )


def _say_something_on_the_call(twilio):
    twilio("/webhooks/twilio/voice/gather/", fixture("voice_gather"))


def _opt_out_by_text(twilio):
    _text(twilio, "STOP")


def _opt_out_with_staff(twilio):
    consent_record(practice=Call.objects.get().practice, phone=CALLER, kind="opt_out", source="staff")


def _block(twilio):
    BlockedNumber.objects.create(practice=Call.objects.get().practice, phone=CALLER)


def _reply_by_text(twilio):
    _text(twilio, "who is this?")


def _book(twilio):
    practice = Call.objects.get().practice
    AppointmentFactory(
        practice=practice,
        location=practice.locations.get(),
        patient=PatientFactory(practice=practice, phone=CALLER),
        starts_at=timezone.now() + timedelta(days=3),
    )


def _staff_take_over(twilio):
    from calls.models import Conversation
    from tests.factories import StaffMemberFactory

    practice = Call.objects.get().practice
    Conversation.objects.filter(phone=CALLER).update(taken_over_by=StaffMemberFactory(practice=practice).user)


def _staff_will_call(twilio):
    practice = Call.objects.get().practice
    callback_request(patient=PatientFactory(practice=practice, phone=CALLER), reason="Call them back")


def _turn_it_off(twilio):
    Practice.objects.filter(pk=Call.objects.get().practice_id).update(voice_callbacks=False)


@pytest.mark.parametrize(
    ("meanwhile", "reason"),
    [
        (_say_something_on_the_call, "patient replied"),
        (_reply_by_text, "patient replied"),
        (_opt_out_by_text, "patient opted out"),
        (_opt_out_with_staff, "patient opted out"),
        (_block, "blocked number"),
        (_book, "patient booked"),
        (_staff_take_over, "staff took over"),
        (_staff_will_call, "staff are calling back"),
        (_turn_it_off, "voice callbacks are off"),
    ],
)
def test_no_callback_when_they_spoke_replied_opted_out_booked_or_staff_have_it(
    callbacks_on, twilio, placed, clock, meanwhile, reason
):
    call = miss_a_call(twilio)
    clock.move_to(call.missed_at + timedelta(minutes=10))
    meanwhile(twilio)
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    sweep_at(clock, call.missed_at + timedelta(hours=3))
    assert placed == []
    assert not Call.objects.filter(direction=Call.Direction.CALLBACK).exists()
    callback = the_callback(call)
    assert callback.state == Outreach.State.CANCELLED and callback.state_reason == reason


def test_speech_on_the_call_alone_stops_the_callback_at_send_time(callbacks_on, twilio, placed, clock):
    call = miss_a_call(twilio)
    twilio("/webhooks/twilio/voice/gather/", fixture("voice_gather"))
    # Even if the cadence were not stopped when they spoke, the send-time check finds their words.
    Outreach.objects.filter(kind=Outreach.Kind.CALLBACK).update(state=Outreach.State.PENDING, state_reason="")
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    assert placed == [] and the_callback(call).state_reason == "caller spoke on the call"


def test_no_callback_row_at_all_while_the_setting_is_off(line, twilio, placed, clock):
    assert line.practice.voice_callbacks is False  # the default
    call = miss_a_call(twilio)
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    assert placed == [] and not Outreach.objects.filter(kind=Outreach.Kind.CALLBACK).exists()
    assert Outreach.objects.filter(call=call, kind=Outreach.Kind.FOLLOW_UP).count() == 4


def test_a_call_twilio_refuses_is_not_tried_again(callbacks_on, twilio, twilio_api, clock):
    twilio_api.call_status = 400
    call = miss_a_call(twilio)
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    sweep_at(clock, call.missed_at + timedelta(minutes=120))
    attempts = [r for r in twilio_api.requests if r["uri"].endswith("/Calls.json")]
    assert len(attempts) == 1
    callback = the_callback(call)
    assert callback.state == Outreach.State.FAILED and "21215" in callback.state_reason
    assert Call.objects.get(direction=Call.Direction.CALLBACK).status == "failed"


def test_analytics_counts_the_missed_call_not_the_callback(callbacks_on, twilio, clock):
    call = miss_a_call(twilio)
    today = Filters(start=date(2026, 12, 2), end=date(2026, 12, 2))
    before = dashboard(callbacks_on.practice, today, rollups=False).figures["calls"]
    sweep_at(clock, call.missed_at + timedelta(minutes=61))
    callback = Call.objects.get(direction=Call.Direction.CALLBACK)
    twilio(
        f"/webhooks/twilio/voice/callback/?call={callback.pk}",
        fixture("voice_callback_answered", CallSid=callback.call_sid),
    )
    after = dashboard(callbacks_on.practice, today, rollups=False).figures["calls"]
    assert before == after
    assert (after["total"], after["missed"], after["answered"]) == (1, 1, 0)
