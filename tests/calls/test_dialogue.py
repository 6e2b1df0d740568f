"""The receptionist end to end through the real webhooks: qualify, offer real times, book, remind."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from booking.models import Appointment, FollowUpTask
from booking.selectors import open_slots
from calls.models import Conversation, Message, Outreach
from tests.calls.conftest import fixture
from tests.factories import PatientFactory, ProviderFactory, ProviderShiftFactory, ServiceFactory

SMS = "/webhooks/twilio/sms/"
GATHER = "/webhooks/twilio/voice/gather/"


@pytest.fixture
def spa(line):
    botox = ServiceFactory(
        practice=line.practice,
        name="Botox",
        slug="botox",
        category="neuromodulator",
        duration_minutes=30,
        buffer_after_minutes=10,
        price_min=12,
        price_max=15,
        price_unit="per unit",
        consultation_required_for_new=True,
        synonyms=["tox", "wrinkle relaxer"],
        prep_instructions="Arrive 15 minutes early.",
    )
    consultation = ServiceFactory(
        practice=line.practice,
        name="Consultation",
        slug="consultation",
        category="consultation",
        duration_minutes=30,
        price_min=0,
        price_max=0,
    )
    nurse = ProviderFactory(practice=line.practice, first_name="Sofia", credential="np")
    nurse.locations.add(line.location)
    nurse.services.add(botox, consultation)
    for weekday in range(7):
        ProviderShiftFactory(
            provider=nurse, location=line.location, weekday=weekday, starts_at=time(9), ends_at=time(19)
        )
    return {"botox": botox, "consultation": consultation, "nurse": nurse, "line": line}


class Patient:
    """A patient's phone: texts through the signed SMS webhook, reads what came back."""

    def __init__(self, twilio, outbox, phone="+16465550188"):
        self.twilio, self.outbox, self.phone, self.n = twilio, outbox, phone, 0

    def text(self, body: str) -> str:
        self.n += 1
        sid = f"SM{self.phone[-4:]}{self.n:028d}"
        before = len(self.outbox)
        response = self.twilio(
            SMS, fixture("sms_inbound", Body=body, From=self.phone, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
        )
        assert response.status_code == 200
        replies = [sent.body for sent in self.outbox[before:] if sent.to == self.phone]
        assert len(replies) == 1, replies
        return replies[0]


def offered_times(conversation: Conversation) -> list[datetime]:
    return [datetime.fromisoformat(slot["start"]) for slot in conversation.context["offered"]]


def test_missed_call_to_text_back_to_qualified_booking_with_reminders(spa, twilio, outbox):
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    assert "Sorry we missed your call" in outbox[0].body
    patient = Patient(twilio, outbox)

    assert "been to Glow Aesthetics before" in patient.text("do you have anything for botox next week")
    offer = patient.text("no, first time")
    conversation = Conversation.objects.get(channel="sms")
    times = offered_times(conversation)
    assert "consultation first" in offer and "Reply 1, 2 or 3" in offer
    assert len(times) == 3 and len({t.date() for t in times}) == 3
    next_monday = date(2026, 12, 7)
    assert all(next_monday <= t.date() <= next_monday + timedelta(days=6) for t in times)
    # Every time offered is really open for the consultation, right now.
    for moment in times:
        assert moment in [
            slot.start
            for slot in open_slots(service=spa["consultation"], start=moment, end=moment + timedelta(minutes=1))
        ]

    confirmation = patient.text("2")
    appointment = Appointment.objects.get()
    assert (appointment.service, appointment.starts_at, appointment.source) == (spa["consultation"], times[1], "sms")
    assert appointment.patient.phone == "+16465550188"
    assert "You're booked at Glow Aesthetics" in confirmation and "reply R" in confirmation
    assert "reply C" in confirmation and spa["line"].location.address in confirmation
    reminders = Outreach.objects.filter(kind="reminder", appointment=appointment).order_by("due_at")
    assert [r.due_at for r in reminders] == [
        appointment.starts_at - timedelta(hours=48),
        appointment.starts_at - timedelta(hours=2),
    ]
    assert all(r.state == "pending" for r in reminders)
    assert "Reply Y to confirm, R to reschedule, C to cancel" in reminders[0].body
    conversation.refresh_from_db()
    assert conversation.state == "booked" and conversation.priority is not None
    assert set(conversation.context["scores"]) == {"goals", "openness", "window"}
    assert set(Outreach.objects.filter(kind="follow_up").values_list("state", flat=True)) == {"cancelled"}
    inbound = Message.objects.filter(direction="inbound").order_by("id")
    assert inbound[0].intent == "book" and inbound[0].extracted["service"] == "botox"


def test_a_returning_patient_books_the_treatment_itself(spa, twilio, outbox):
    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    offer = patient.text("any tox openings saturday morning?")
    assert "consultation" not in offer
    times = offered_times(Conversation.objects.get())
    assert times[0] == datetime(2026, 12, 5, 9, 0, tzinfo=spa["line"].location.zone)
    patient.text("the first one")
    assert Appointment.objects.get().service == spa["botox"]


def test_reminder_reply_c_cancels_and_frees_the_slot(spa, twilio, outbox):
    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    patient.text("botox tomorrow afternoon?")
    patient.text("1")
    appointment = Appointment.objects.get()
    reply = patient.text("C")
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and "cancelled" in reply
    free = open_slots(
        service=spa["botox"], start=appointment.starts_at, end=appointment.starts_at + timedelta(minutes=1)
    )
    assert [slot.start for slot in free] == [appointment.starts_at]
    assert set(Outreach.objects.filter(kind="reminder").values_list("state", flat=True)) == {"cancelled"}


def test_reminder_reply_y_confirms_and_r_offers_new_times(spa, twilio, outbox):
    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    patient.text("botox friday?")
    patient.text("1")
    assert "confirmed" in patient.text("Y")
    assert Appointment.objects.get().status == "confirmed"
    original = Appointment.objects.get().starts_at
    offer = patient.text("R")
    assert "Reply 1, 2 or 3" in offer
    times = offered_times(Conversation.objects.get())
    assert original not in times
    reply = patient.text("3")
    moved = Appointment.objects.get()
    assert moved.starts_at == times[2] and moved.status == "booked"
    assert "You're booked" in reply
    # The old reminders were stopped; the new visit has its own.
    assert Outreach.objects.filter(kind="reminder", state="cancelled", state_reason="visit moved").exists()
    assert {r.due_at for r in Outreach.objects.filter(kind="reminder", state="pending")} == {
        moved.starts_at - timedelta(hours=48),
        moved.starts_at - timedelta(hours=2),
    }


def test_a_lone_cancel_is_an_opt_out_not_a_cancellation(spa, twilio, outbox):
    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    patient.text("botox friday?")
    patient.text("1")
    assert "unsubscribed" in patient.text("CANCEL")
    assert Appointment.objects.get().status == "booked"


def test_prices_come_only_from_the_published_range(spa, twilio, outbox):
    patient = Patient(twilio, outbox)
    assert "$12-$15 per unit" in patient.text("how much is botox?")
    reply = patient.text("how much is a facelift?")
    assert "$" not in reply.replace("Glow Aesthetics", "")
    task = FollowUpTask.objects.get(kind="callback")
    assert "Pricing question" in task.reason


def test_two_misunderstandings_in_a_row_offer_a_person(spa, twilio, outbox):
    patient = Patient(twilio, outbox)
    patient.text("purple monkey dishwasher")
    reply = patient.text("blorp")
    assert "team" in reply
    assert Conversation.objects.get().state == "handed_off"
    assert FollowUpTask.objects.filter(kind="callback").exists()


def test_the_same_booking_by_voice_with_a_text_confirmation(spa, twilio, outbox):
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))

    def say(words):
        return twilio(GATHER, fixture("voice_gather", SpeechResult=words)).content.decode()

    assert "been to Glow Aesthetics before" in say("um hi do you have anything for botox next week")
    offered = say("no this is my first time")
    assert "Reply 1, 2 or 3" in offered or "I have 1)" in offered
    done = say("the second one please")
    assert "<Hangup" in done and "texted you the details" in done
    appointment = Appointment.objects.get()
    assert appointment.source == "voice" and appointment.service == spa["consultation"]
    confirmation = [sent for sent in outbox if "You're booked" in sent.body]
    assert len(confirmation) == 1 and confirmation[0].channel == "sms"


def test_a_caller_who_asks_for_a_person_is_put_through_with_a_whisper(spa, twilio, outbox):
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    response = twilio(GATHER, fixture("voice_gather", SpeechResult="can i just talk to a real person")).content.decode()
    assert "<Dial" in response and "/webhooks/twilio/voice/whisper/?escalation=" in response
    assert "+12125550143" in response
    escalation_id = response.split("escalation=")[1].split('"')[0]
    whisper = twilio(f"/webhooks/twilio/voice/whisper/?escalation={escalation_id}", fixture("voice_screen"))
    assert "Asked for a person" in whisper.content.decode()
    missed = twilio(
        f"/webhooks/twilio/voice/transfer-result/?escalation={escalation_id}", fixture("voice_dial_status_no_answer")
    )
    assert "callback" in missed.content.decode()
    assert FollowUpTask.objects.filter(reason__startswith="PRIORITY").count() == 1


def test_now_is_wednesday_morning_in_new_york(spa):
    assert timezone.localtime(timezone.now(), spa["line"].location.zone).hour == 10


def test_a_reminder_is_sent_on_time_and_not_for_a_visit_cancelled_elsewhere(spa, twilio, outbox, clock):
    from booking.services import appointment_cancel
    from calls.tasks import outreach_sweep

    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    patient.text("botox next week?")
    patient.text("1")
    first = Appointment.objects.get()
    clock.move_to(first.starts_at - timedelta(hours=48) + timedelta(minutes=1))
    outreach_sweep()
    assert "Reply Y to confirm, R to reschedule, C to cancel" in outbox[-1].body
    appointment_cancel(appointment=first, reason="Cancelled by staff")
    clock.move_to(first.starts_at - timedelta(hours=2) + timedelta(minutes=1))
    sent_before = len(outbox)
    outreach_sweep()
    assert len(outbox) == sent_before
    assert Outreach.objects.get(kind="reminder", due_at=first.starts_at - timedelta(hours=2)).state_reason == (
        "visit no longer booked"
    )


@pytest.fixture
def tox_patient(spa):
    from booking.models import SeriesTemplate
    from booking.services import enrollment_record_visit, enrollment_start

    patient = PatientFactory(
        practice=spa["line"].practice,
        phone="+16465550188",
        first_name="Ava",
        is_returning=True,
        home_location=spa["line"].location,
    )
    template = SeriesTemplate.objects.create(
        practice=spa["line"].practice,
        name="Tox",
        service=spa["botox"],
        visits=1,
        repeats=True,
        interval_days=90,
        early_days=7,
        late_days=14,
    )
    enrollment = enrollment_start(patient=patient, template=template, started_on=date(2026, 8, 1))
    enrollment_record_visit(enrollment=enrollment, visit_day=date(2026, 9, 1), today=date(2026, 12, 2))
    enrollment.refresh_from_db()
    assert enrollment.status == "due"
    return enrollment


def test_a_series_rebooking_prompt_offers_times_in_the_window_and_books_into_the_series(
    spa, tox_patient, twilio, outbox, django_capture_on_commit_callbacks
):
    from calls.tasks import series_prompts_all

    with django_capture_on_commit_callbacks(execute=True):
        assert series_prompts_all() == 1
        assert series_prompts_all() == 0  # once a week at most
    assert "Hi Ava" in outbox[-1].body and "Botox" in outbox[-1].body and "Nov 23" in outbox[-1].body
    patient = Patient(twilio, outbox)
    offer = patient.text("yes please")
    times = offered_times(Conversation.objects.get(channel="sms"))
    assert "Reply 1, 2 or 3" in offer and len(times) == 3
    assert all(tox_patient.next_due_from <= t.date() <= tox_patient.next_due_until for t in times)
    patient.text("1")
    appointment = Appointment.objects.get()
    assert appointment.enrollment == tox_patient and appointment.service == spa["botox"]


def test_a_series_patient_who_is_not_ready_gets_a_follow_up_task(
    spa, tox_patient, twilio, outbox, django_capture_on_commit_callbacks
):
    from calls.tasks import series_prompts_all

    with django_capture_on_commit_callbacks(execute=True):
        series_prompts_all()
    reply = Patient(twilio, outbox).text("not right now, traveling")
    assert "check back" in reply
    task = FollowUpTask.objects.get(kind="not_ready")
    assert task.enrollment == tox_patient and task.due_on == date(2026, 12, 16)
    assert not Appointment.objects.exists()


def test_new_details_while_choosing_search_again(spa, twilio, outbox):
    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    patient.text("botox next week?")
    first = offered_times(Conversation.objects.get())
    again = patient.text("do you have anything saturday afternoon instead?")
    times = offered_times(Conversation.objects.get())
    assert "Reply 1, 2 or 3" in again and times != first
    assert times[0].weekday() == 5 and times[0].hour >= 12


def test_an_emergency_on_the_phone_gets_its_written_reply_by_sms(spa, twilio, outbox):
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    twilio(GATHER, fixture("voice_gather", SpeechResult="i got filler yesterday and now i cant swallow right"))
    emergency = [sent for sent in outbox if "911" in sent.body]
    assert len(emergency) == 1 and emergency[0].channel == "sms" and emergency[0].to == "+16465550188"
    assert Message.objects.get(body=emergency[0].body).conversation.channel == "sms"
