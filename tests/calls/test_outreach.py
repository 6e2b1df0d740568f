"""The text-back, the follow-up cadence, quiet hours, and what the send layer does with errors."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from booking.models import FollowUpTask
from calls.messaging import backends
from calls.messaging.backends import SendError
from calls.messaging.quiet_hours import next_allowed, patient_zone
from calls.messaging.services import outreach_claim, outreach_send
from calls.models import Call, Outreach
from calls.tasks import outreach_sweep
from practices.models import BlockedNumber, ContactConsent
from practices.services import consent_record
from tests.calls.conftest import fixture
from tests.factories import AppointmentFactory, PatientFactory

NEW_YORK = ZoneInfo("America/New_York")


def miss_a_call(twilio, **overrides):
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming", **overrides))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer", **overrides))
    return Call.objects.get(call_sid=overrides.get("CallSid", fixture("voice_incoming")["CallSid"]))


def test_the_text_back_names_the_practice_and_asks_one_question(line, twilio, outbox):
    call = miss_a_call(twilio)
    assert len(outbox) == 1
    sent = outbox[0]
    assert sent.to == "+16465550188" and sent.from_ == "+12125550100" and sent.channel == "sms"
    assert sent.body.startswith("Hi, this is Glow Aesthetics!") and sent.body.count("?") == 1
    assert "Reply STOP to opt out." in sent.body
    outreach = Outreach.objects.get(call=call, kind="text_back")
    assert outreach.state == "sent" and outreach.message.body == sent.body


def test_the_follow_ups_go_at_5_30_120_minutes_and_a_day_rotating_channel(line, twilio, outbox, clock):
    PatientFactory(practice=line.practice, phone="+16465550188", email="olivia@example.com")
    consent_record(practice=line.practice, phone="+16465550188", kind="whatsapp_opt_in", source="staff")
    call = miss_a_call(twilio)
    steps = Outreach.objects.filter(call=call, kind="follow_up").order_by("step")
    assert [(o.due_at - call.missed_at) for o in steps] == [
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=24),
    ]
    assert [o.channel for o in steps] == ["sms", "email", "whatsapp", "sms"]
    for minutes in (6, 31, 121, 24 * 60 + 1):
        clock.move_to(call.missed_at + timedelta(minutes=minutes))
        outreach_sweep()
    assert [sent.channel for sent in outbox] == ["sms", "sms", "email", "whatsapp", "sms"]
    assert all("Glow Aesthetics" in sent.body for sent in outbox)


def test_follow_ups_stop_at_a_booking_or_a_staff_takeover(line, twilio, outbox, clock):
    from calls.models import Conversation

    call = miss_a_call(twilio)
    clock.move_to(call.missed_at + timedelta(minutes=6))
    AppointmentFactory(
        practice=line.practice,
        location=line.location,
        # Returning, so the booking brings no intake link (tests/calls/test_intake.py): only the text-back went.
        patient=PatientFactory(practice=line.practice, phone="+16465550188", is_returning=True),
        starts_at=timezone.now() + timedelta(days=3),
    )
    outreach_sweep()
    assert Outreach.objects.get(call=call, step=1).state_reason == "patient booked"
    assert len(outbox) == 1

    other = miss_a_call(twilio, CallSid="CA33333333333333333333333333333333", From="+16465550177")
    Conversation.objects.filter(phone="+16465550177").update(taken_over_by=_staff_user(line))
    clock.move_to(other.missed_at + timedelta(minutes=6))
    outreach_sweep()
    assert Outreach.objects.get(call=other, step=1).state_reason == "staff took over"


def _staff_user(line):
    from tests.factories import StaffMemberFactory

    return StaffMemberFactory(practice=line.practice).user


def test_a_message_queued_before_an_opt_out_and_due_after_it_is_not_sent(line, twilio, outbox, clock):
    call = miss_a_call(twilio)
    consent_record(practice=line.practice, phone="+16465550188", kind="opt_out", source="staff")
    clock.move_to(call.missed_at + timedelta(hours=25))
    outreach_sweep()
    assert len(outbox) == 1
    assert set(Outreach.objects.filter(kind="follow_up").values_list("state", flat=True)) == {"cancelled"}


def test_no_text_back_to_opted_out_blocked_or_recently_texted_numbers(line, twilio, outbox):
    consent_record(practice=line.practice, phone="+16465550188", kind="opt_out", source="staff")
    assert miss_a_call(twilio).outreach.get(kind="text_back").state_reason == "opted out"
    BlockedNumber.objects.create(practice=line.practice, phone="+16465550177")
    blocked = miss_a_call(twilio, CallSid="CA44444444444444444444444444444444", From="+16465550177")
    assert blocked.outreach.get(kind="text_back").state_reason == "blocked number"
    first = miss_a_call(twilio, CallSid="CA55555555555555555555555555555555", From="+16465550166")
    again = miss_a_call(twilio, CallSid="CA66666666666666666666666666666666", From="+16465550166")
    assert first.outreach.get(kind="text_back").state == "sent"
    assert again.outreach.get(kind="text_back").state_reason == "in touch in the last day"
    assert [sent.to for sent in outbox] == ["+16465550166"]


def test_a_caller_with_a_visit_in_the_next_two_days_gets_a_text_about_it(line, twilio, outbox):
    patient = PatientFactory(practice=line.practice, phone="+16465550188", first_name="Olivia")
    AppointmentFactory(
        practice=line.practice, location=line.location, patient=patient, starts_at=timezone.now() + timedelta(hours=26)
    )
    call = miss_a_call(twilio)
    assert "Hi Olivia" in outbox[0].body and "You're booked for" in outbox[0].body
    assert not Outreach.objects.filter(call=call, kind="follow_up").exists()


def test_a_text_back_in_quiet_hours_is_deferred_to_8_am_not_dropped(line, twilio, outbox, clock):
    clock.move_to(datetime(2026, 12, 2, 22, 30, tzinfo=NEW_YORK))
    call = miss_a_call(twilio)
    text_back = call.outreach.get(kind="text_back")
    assert outbox == [] and text_back.state == "pending"
    assert text_back.due_at == datetime(2026, 12, 3, 8, 0, tzinfo=NEW_YORK)
    clock.move_to(datetime(2026, 12, 3, 8, 1, tzinfo=NEW_YORK))
    outreach_sweep()
    assert len(outbox) == 1
    # The cadence moves with it: the first follow-up comes five minutes after the text-back's 8 am, not at once.
    first = Outreach.objects.get(call=call, step=1)
    assert first.state == "pending"
    assert first.due_at == datetime(2026, 12, 3, 8, 5, tzinfo=NEW_YORK)
    clock.move_to(datetime(2026, 12, 3, 8, 7, tzinfo=NEW_YORK))
    outreach_sweep()
    assert len(outbox) == 2


def test_quiet_hours_end_at_8_local_across_the_spring_forward_night():
    evening = datetime(2027, 3, 13, 22, 0, tzinfo=NEW_YORK)  # EST, -05:00
    allowed = next_allowed(
        evening,
        zone=NEW_YORK,
        quiet_start=datetime.min.time().replace(hour=21),
        quiet_end=datetime.min.time().replace(hour=8),
    )
    assert allowed == datetime(2027, 3, 14, 8, 0, tzinfo=NEW_YORK)
    assert allowed.utcoffset() == timedelta(hours=-4)  # EDT the next morning
    assert allowed.astimezone(UTC) - evening.astimezone(UTC) == timedelta(hours=9)  # ten on the wall clock


def test_quiet_hours_across_the_fall_back_night():
    evening = datetime(2026, 10, 31, 23, 0, tzinfo=NEW_YORK)
    allowed = next_allowed(
        evening,
        zone=NEW_YORK,
        quiet_start=datetime.min.time().replace(hour=21),
        quiet_end=datetime.min.time().replace(hour=8),
    )
    assert allowed == datetime(2026, 11, 1, 8, 0, tzinfo=NEW_YORK)
    assert allowed.astimezone(UTC) - evening.astimezone(UTC) == timedelta(hours=10)  # nine on the wall clock
    midday = datetime(2026, 11, 1, 12, 0, tzinfo=NEW_YORK)
    assert (
        next_allowed(
            midday,
            zone=NEW_YORK,
            quiet_start=datetime.min.time().replace(hour=21),
            quiet_end=datetime.min.time().replace(hour=8),
        )
        == midday
    )


def test_a_patient_elsewhere_is_judged_by_their_area_code():
    assert patient_zone(phone="+13105550100", location_zone=NEW_YORK).key == "America/Los_Angeles"
    assert patient_zone(phone="+16465550188", location_zone=NEW_YORK) == NEW_YORK
    assert patient_zone(phone="+442079460958", location_zone=NEW_YORK).key == "Europe/London"


def test_two_workers_never_send_one_row_twice(line, twilio, outbox):
    call = miss_a_call(twilio)
    follow_up = Outreach.objects.get(call=call, step=1)
    Outreach.objects.filter(pk=follow_up.pk).update(due_at=timezone.now())
    assert outreach_claim(follow_up.pk) is True
    assert outreach_claim(follow_up.pk) is False
    assert outreach_send(follow_up.pk) == "not claimed"


def test_a_row_left_sending_by_a_dead_worker_is_sent_after_a_restart(line, twilio, outbox, clock):
    call = miss_a_call(twilio)
    follow_up = Outreach.objects.get(call=call, step=1)
    Outreach.objects.filter(pk=follow_up.pk).update(state="sending", claimed_at=timezone.now(), due_at=timezone.now())
    clock.move_to(timezone.now() + timedelta(minutes=6))
    outreach_sweep()
    assert Outreach.objects.get(pk=follow_up.pk).state == "sent"
    assert len(outbox) == 2


class FailingBackend(backends.BaseBackend):
    error: SendError

    def send(self, outbound):
        raise self.error


@pytest.fixture
def failing(settings):
    settings.MESSAGING_BACKENDS = {**settings.MESSAGING_BACKENDS, "failing": f"{__name__}.FailingBackend"}
    settings.MESSAGING_BACKEND = "failing"

    def fail_with(code, *, retryable=False):
        FailingBackend.error = SendError("refused", code=code, retryable=retryable)

    return fail_with


def test_21610_marks_the_number_opted_out_and_is_never_retried(line, twilio, failing):
    failing("21610")
    call = miss_a_call(twilio)
    text_back = call.outreach.get(kind="text_back")
    assert (text_back.state, text_back.attempts) == ("failed", 1)
    assert ContactConsent.objects.get(phone="+16465550188").status == "opted_out"
    assert text_back.message.status == "failed" and text_back.message.error_code == "21610"


@pytest.mark.parametrize("code", ["30003", "30005", "30006"])
def test_an_unreachable_number_tells_the_front_desk(line, twilio, failing, code):
    failing(code)
    call = miss_a_call(twilio)
    assert call.outreach.get(kind="text_back").state == "failed"
    assert code in call.outreach.get(kind="text_back").state_reason
    assert FollowUpTask.objects.get(kind="callback").patient.phone == "+16465550188"


def test_a_server_error_retries_with_backoff_then_alerts_staff(line, twilio, failing, clock, outbox):
    failing("20500", retryable=True)
    call = miss_a_call(twilio)
    text_back = call.outreach.get(kind="text_back")
    delays = []
    for _ in range(3):
        text_back.refresh_from_db()
        assert text_back.state == "pending"
        delays.append(text_back.due_at - timezone.now())
        clock.move_to(text_back.due_at + timedelta(seconds=1))
        outreach_send(text_back.pk)
    text_back.refresh_from_db()
    assert text_back.state == "failed" and text_back.attempts == 4
    assert [round(d.total_seconds() / 30) for d in delays] == [1, 2, 4]
    assert FollowUpTask.objects.filter(kind="callback").count() == 1


def test_a_text_back_deferred_on_the_spring_forward_night_goes_at_8_am_daylight_time(line, twilio, outbox, clock):
    clock.move_to(datetime(2027, 3, 13, 22, 30, tzinfo=NEW_YORK))  # Saturday night, EST
    call = miss_a_call(twilio)
    text_back = call.outreach.get(kind="text_back")
    assert text_back.due_at == datetime(2027, 3, 14, 8, 0, tzinfo=NEW_YORK)
    assert text_back.due_at.astimezone(UTC).hour == 12  # 8 am EDT, not 8 am EST (13:00 UTC)
    clock.move_to(datetime(2027, 3, 14, 7, 59, tzinfo=NEW_YORK))
    outreach_sweep()
    assert outbox == []
    clock.move_to(datetime(2027, 3, 14, 8, 0, 30, tzinfo=NEW_YORK))
    outreach_sweep()
    assert len(outbox) == 1


@pytest.mark.parametrize(
    ("visit_hour", "state", "reason"),
    [
        (9, "pending", "waiting out quiet hours"),  # 7:00 reminder waits until 8:00, an hour before
        (8, "skipped", "quiet hours last until the visit"),  # 6:00 reminder would wait until the start
    ],
)
def test_an_early_visits_2_hour_reminder_never_arrives_after_the_start(line, outbox, clock, visit_hour, state, reason):
    starts = datetime(2026, 12, 3, visit_hour, tzinfo=NEW_YORK)
    patient = PatientFactory(practice=line.practice, phone="+16465550188")
    visit = AppointmentFactory(practice=line.practice, location=line.location, patient=patient, starts_at=starts)
    reminder = Outreach.objects.create(
        practice=line.practice,
        kind=Outreach.Kind.REMINDER,
        phone=patient.phone,
        patient=patient,
        location=line.location,
        appointment=visit,
        automated=True,
        body="Reminder: your visit is at 9:00. Reply Y to confirm.",
        due_at=starts - timedelta(hours=2),
    )
    clock.move_to(starts - timedelta(hours=2))
    outreach_send(reminder.pk)
    reminder.refresh_from_db()
    assert (reminder.state, reminder.state_reason) == (state, reason)
    assert outbox == []


def test_a_reminder_due_after_the_visit_started_is_not_sent(line, outbox, clock):
    starts = datetime(2026, 12, 3, 10, tzinfo=NEW_YORK)
    visit = AppointmentFactory(practice=line.practice, location=line.location, starts_at=starts)
    reminder = Outreach.objects.create(
        practice=line.practice,
        kind=Outreach.Kind.REMINDER,
        phone=visit.patient.phone,
        appointment=visit,
        automated=True,
        body="Reminder",
        due_at=starts - timedelta(hours=2),
    )
    clock.move_to(starts + timedelta(minutes=5))  # the worker was down
    outreach_send(reminder.pk)
    reminder.refresh_from_db()
    assert (reminder.state, reminder.state_reason) == ("skipped", "the visit has started")
    assert outbox == []


def test_an_email_to_a_long_address_is_sent_in_its_own_thread(line, outbox):
    address = "front.desk.coordinator.on.call@glow-aesthetics-midtown.example.com"  # longer than a phone
    alert = Outreach.objects.create(
        practice=line.practice, kind=Outreach.Kind.STAFF_ALERT, channel="email", email=address, body="Escalation 7"
    )
    assert outreach_send(alert.pk) == "sent"
    alert.refresh_from_db()
    assert alert.state == "sent" and alert.message.conversation.phone == address
