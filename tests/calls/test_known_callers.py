"""Known callers end to end: greeted by first name on the phone and in the text-back, picked up from
their history (an upcoming visit, a due series, the last treatment, an unfinished conversation), and a
new number linked to a patient only after staff confirm the name and date of birth it gave."""

from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking.models import Appointment, FollowUpTask, SeriesEnrollment, SeriesTemplate
from booking.selectors import open_slots
from calls.models import Call, Conversation, PatientLinkRequest
from calls.patient_links import CLAIM_NOTED
from practices.models import AuditEvent, Patient, PatientPhone
from tests.calls.conftest import fixture
from tests.factories import (
    AppointmentFactory,
    BusinessHoursFactory,
    LocationFactory,
    PatientFactory,
    PhoneNumberFactory,
    PracticeFactory,
    ProviderFactory,
    ProviderShiftFactory,
    ServiceFactory,
    StaffMemberFactory,
)

VOICE = "/webhooks/twilio/voice/"
DIAL = "/webhooks/twilio/voice/dial-status/"
SMS = "/webhooks/twilio/sms/"
MARIA = "+16465550188"
NEW_NUMBER = "+19175550123"
STRANGER = "+19175550166"
# What anyone giving a name and date of birth from a new number hears, matched or not.
CLAIM_REPLY = f"Glow Aesthetics: {CLAIM_NOTED} How can I help you today? Reply STOP to opt out."


@pytest.fixture
def spa(line):
    practice = line.practice
    lips = ServiceFactory(practice=practice, name="Lip Filler", slug="lip-filler", duration_minutes=45)
    botox = ServiceFactory(practice=practice, name="Botox", slug="botox", duration_minutes=30, synonyms=["tox"])
    laser = ServiceFactory(practice=practice, name="Laser Hair Removal", slug="laser-hair-removal", duration_minutes=30)
    nurse = ProviderFactory(practice=practice, first_name="Sofia")
    nurse.locations.add(line.location)
    nurse.services.add(lips, botox, laser)
    for weekday in range(7):
        ProviderShiftFactory(
            provider=nurse, location=line.location, weekday=weekday, starts_at=time(9), ends_at=time(19)
        )
    maria = PatientFactory(
        practice=practice, phone=MARIA, first_name="Maria", last_name="Lopez", date_of_birth=date(1988, 3, 14)
    )
    return {
        "line": line,
        "practice": practice,
        "lips": lips,
        "botox": botox,
        "laser": laser,
        "nurse": nurse,
        "maria": maria,
    }


def visit(spa, service, starts_at, *, patient=None, status="booked"):
    return AppointmentFactory(
        practice=spa["practice"],
        location=spa["line"].location,
        patient=patient or spa["maria"],
        service=service,
        provider=spa["nurse"],
        starts_at=starts_at,
        status=status,
    )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hour, minute), ZoneInfo("America/New_York"))


class Phone:
    """A patient's phone: texts through the signed SMS webhook and reads the one reply."""

    def __init__(self, twilio, outbox, number=MARIA):
        self.twilio, self.outbox, self.number, self.n = twilio, outbox, number, 0

    def text(self, body: str) -> str:
        self.n += 1
        sid = f"SM{self.number[-4:]}{self.n:028d}"
        before = len(self.outbox)
        response = self.twilio(
            SMS, fixture("sms_inbound", Body=body, From=self.number, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
        )
        assert response.status_code == 200
        replies = [sent.body for sent in self.outbox[before:] if sent.to == self.number]
        assert len(replies) == 1, replies
        return replies[0]

    def call(self, sid: str) -> str:
        """Call during opening hours; nobody at the desk picks up. What the receptionist says first."""
        params = {"CallSid": sid, "From": self.number, "Caller": self.number}
        assert "<Dial" in self.twilio(VOICE, fixture("voice_incoming", **params)).content.decode()
        return self.twilio(DIAL, fixture("voice_dial_status_no_answer", **params)).content.decode()


def offered(conversation: Conversation) -> list[datetime]:
    return [datetime.fromisoformat(slot["start"]) for slot in conversation.context["offered"]]


# Greeted by name.


def test_a_known_caller_is_greeted_by_first_name_on_the_phone_and_in_the_text_back(spa, twilio, outbox):
    visit(spa, spa["lips"], at(date(2026, 12, 10), 14))  # a week ahead: not the visit-reminder text-back
    greeting = Phone(twilio, outbox).call("CA" + "1" * 32)
    assert "Hi Maria, thanks for calling Glow Aesthetics" in greeting
    # Nothing of their records is said before they speak: someone else may have the phone.
    assert "Lopez" not in greeting and "Lip Filler" not in greeting and "Dec" not in greeting
    assert Call.objects.get().patient == spa["maria"]
    [text_back] = [sent for sent in outbox if sent.to == MARIA]
    assert text_back.body.startswith("Hi Maria, this is Glow Aesthetics! Sorry we missed your call.")
    assert "Lopez" not in text_back.body and "Lip Filler" not in text_back.body


def test_an_unknown_caller_is_greeted_without_a_name(spa, twilio, outbox):
    greeting = Phone(twilio, outbox, number=STRANGER).call("CA" + "2" * 32)
    assert "Hi, thanks for calling Glow Aesthetics" in greeting
    [text_back] = [sent for sent in outbox if sent.to == STRANGER]
    assert text_back.body.startswith("Hi, this is Glow Aesthetics! Sorry we missed your call.")


# Picking up from their history.


def test_a_known_texter_hears_about_their_upcoming_visit_and_keeps_it(spa, twilio, outbox):
    thursday = visit(spa, spa["lips"], at(date(2026, 12, 3), 14))
    phone = Phone(twilio, outbox)
    reply = phone.text("Hi")
    assert "Hi Maria! I see you're booked for Lip Filler on Thu Dec 3 at 2:00 PM." in reply
    assert "keep it, move it, or something else?" in reply
    assert "you're confirmed for Lip Filler on Thu Dec 3 at 2:00 PM" in phone.text("keep it please")
    thursday.refresh_from_db()
    assert thursday.status == Appointment.Status.CONFIRMED


def test_a_known_texter_can_move_the_visit_they_were_reminded_of_to_a_real_time(spa, twilio, outbox):
    thursday = visit(spa, spa["lips"], at(date(2026, 12, 3), 14))
    phone = Phone(twilio, outbox)
    phone.text("hello")
    offer = phone.text("move it")
    assert "Reply 1, 2 or 3" in offer
    times = offered(Conversation.objects.get(phone=MARIA, channel="sms"))
    for moment in times:
        assert moment in [
            slot.start
            for slot in open_slots(
                service=spa["lips"], start=moment, end=moment + timedelta(minutes=1), exclude_appointment_id=thursday.pk
            )
        ]
    phone.text("2")
    thursday.refresh_from_db()
    assert thursday.starts_at == times[1]


def test_a_known_texter_with_a_due_series_is_offered_its_next_visit_with_real_times(spa, twilio, outbox):
    today = date(2026, 12, 2)
    visit(spa, spa["laser"], at(today - timedelta(days=35), 11), status="completed")
    template = SeriesTemplate.objects.create(
        practice=spa["practice"], name="Laser package", service=spa["laser"], visits=6, interval_days=35
    )
    enrollment = SeriesEnrollment.objects.create(
        practice=spa["practice"],
        patient=spa["maria"],
        template=template,
        visits_done=1,
        status=SeriesEnrollment.Status.DUE,
        next_due_from=today + timedelta(days=2),
        next_due_on=today + timedelta(days=5),
        next_due_until=today + timedelta(days=9),
    )
    phone = Phone(twilio, outbox)
    reply = phone.text("hey there")
    assert "Hi Maria! Your next Laser Hair Removal visit is due between Dec 4 and Dec 11." in reply
    assert "Reply 1, 2 or 3 to book" in reply
    times = offered(Conversation.objects.get(phone=MARIA, channel="sms"))
    assert len(times) == 3 and all(t.date() >= today + timedelta(days=2) for t in times)
    for moment in times:
        assert moment in [
            slot.start for slot in open_slots(service=spa["laser"], start=moment, end=moment + timedelta(minutes=1))
        ]
    phone.text("1")
    booked = Appointment.objects.get(status="booked")
    assert (booked.service, booked.starts_at, booked.enrollment) == (spa["laser"], times[0], enrollment)


def test_a_returning_patient_who_wants_to_book_again_gets_their_last_treatment(spa, twilio, outbox):
    visit(spa, spa["botox"], at(date(2026, 9, 1), 11), status="completed")
    phone = Phone(twilio, outbox)
    reply = phone.text("I want to book again")
    assert "I'll look for Botox again, like last time" in reply
    assert "What days or times work best for you?" in reply
    assert "Reply 1, 2 or 3" in phone.text("friday morning")
    phone.text("1")
    booked = Appointment.objects.get(status="booked")
    assert booked.service == spa["botox"] and booked.local_start.weekday() == 4


def test_a_returning_patient_saying_hello_is_asked_about_the_same_treatment(spa, twilio, outbox):
    visit(spa, spa["botox"], at(date(2026, 9, 1), 11), status="completed")
    phone = Phone(twilio, outbox)
    assert "Would you like to book another Botox, or is it something else?" in phone.text("hi")
    assert phone.text("yes please") == "Glow Aesthetics: What days or times work best for you?"


def test_an_unfinished_conversation_is_resumed_within_a_week_and_started_over_after(spa, twilio, outbox, clock):
    phone = Phone(twilio, outbox)
    question = phone.text("botox please")
    assert "Have you been to Glow Aesthetics before?" in question
    clock.move_to(timezone.now() + timedelta(days=2))
    resumed = phone.text("hi")
    assert resumed == (
        "Welcome back, Maria! We were finding you a time for Botox. Have you been to Glow Aesthetics before?"
    )
    assert "What days or times" in phone.text("yes")  # the pending question was answered, not skipped
    clock.move_to(timezone.now() + timedelta(days=10))
    fresh = phone.text("hi")
    assert "Welcome back" not in fresh and "Botox" not in fresh
    conversation = Conversation.objects.get(phone=MARIA, channel="sms")
    assert conversation.state == "greeting" and "glow" not in conversation.context


# A new number: linked only after staff confirm.


@pytest.fixture
def desk_client(client, spa):
    staff = StaffMemberFactory(practice=spa["practice"], role="front_desk").user
    client.force_login(staff)
    return client


def claim_from_new_number(spa, twilio, outbox, words="This is Maria Lopez, DOB 3/14/1988"):
    visit(spa, spa["lips"], at(date(2026, 12, 3), 14))
    phone = Phone(twilio, outbox, number=NEW_NUMBER)
    return phone, phone.text(words)


def test_a_new_number_with_a_matching_name_and_dob_waits_for_staff_and_uses_no_history(spa, twilio, outbox):
    phone, reply = claim_from_new_number(spa, twilio, outbox)
    assert reply == CLAIM_REPLY
    assert "Lip Filler" not in reply and "Lopez" not in reply and "Dec" not in reply
    request = PatientLinkRequest.objects.get()
    assert (request.status, request.patient, request.phone) == ("pending", spa["maria"], NEW_NUMBER)
    # Before staff confirm, the thread is the number's own: none of Maria's visits, none of her name.
    hello = phone.text("hi")
    assert "Maria" not in hello and "Lip Filler" not in hello
    assert "I don't see an upcoming visit under this number" in phone.text("I need to reschedule my appointment")
    assert not PatientPhone.objects.exists()


def test_staff_confirm_the_link_and_the_next_call_from_that_number_is_greeted_by_name(
    spa, twilio, outbox, desk_client, clock
):
    phone, _ = claim_from_new_number(spa, twilio, outbox)
    request = PatientLinkRequest.objects.get()
    conversation = request.conversation
    placeholder = conversation.patient
    page = desk_client.get(reverse("console-conversation", args=[conversation.pk])).content.decode()
    assert "Maria Lopez" in page and reverse("console-link-confirm", args=[request.pk]) in page
    assert "Not the same person" in page

    response = desk_client.post(reverse("console-link-confirm", args=[request.pk]), follow=True)
    assert "this number is now Maria Lopez&#x27;s" in response.content.decode()
    assert "merged into theirs" in response.content.decode()
    request.refresh_from_db()
    conversation.refresh_from_db()
    assert request.status == "confirmed" and request.decided_by is not None
    assert PatientPhone.objects.get(phone=NEW_NUMBER).patient == spa["maria"]
    assert conversation.patient == spa["maria"]
    assert not Patient.objects.filter(pk=placeholder.pk).exists()  # it had nothing of its own
    assert AuditEvent.objects.filter(what="patient link confirmed", object_id=str(request.pk)).exists()

    greeting = phone.call("CA" + "3" * 32)
    assert "Hi Maria, thanks for calling Glow Aesthetics" in greeting
    assert Call.objects.get(from_phone=NEW_NUMBER).patient == spa["maria"]
    clock.move_to(timezone.now() + timedelta(minutes=5))
    assert "I see you're booked for Lip Filler on Thu Dec 3 at 2:00 PM" in phone.text("hello again")


def test_a_number_record_with_things_of_its_own_is_kept_and_staff_are_told(spa, twilio, outbox, desk_client):
    claim_from_new_number(spa, twilio, outbox)
    request = PatientLinkRequest.objects.get()
    placeholder = request.conversation.patient
    FollowUpTask.objects.create(practice=spa["practice"], patient=placeholder, kind="callback", due_on=date.today())
    response = desk_client.post(reverse("console-link-confirm", args=[request.pk]), follow=True)
    assert "was kept, because it has 1 follow up task of its own" in response.content.decode()
    assert Patient.objects.filter(pk=placeholder.pk).exists()
    request.conversation.refresh_from_db()
    assert request.conversation.patient == spa["maria"]


def test_staff_saying_not_the_same_person_links_nothing(spa, twilio, outbox, desk_client):
    phone, _ = claim_from_new_number(spa, twilio, outbox)
    request = PatientLinkRequest.objects.get()
    desk_client.post(reverse("console-link-reject", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == "rejected" and request.decided_by is not None
    assert not PatientPhone.objects.exists()
    assert request.conversation.patient != spa["maria"]
    assert "Hi, thanks for calling Glow Aesthetics" in phone.call("CA" + "4" * 32)
    page = desk_client.get(reverse("console-conversation", args=[request.conversation_id])).content.decode()
    assert reverse("console-link-confirm", args=[request.pk]) not in page


@pytest.mark.parametrize(
    "words",
    [
        "This is Maria Lopez, DOB 3/15/1988",  # a day off
        "This is Maria Lopez, DOB 3/14/1989",  # a year off
        "This is Mariah Lopez, DOB 3/14/1988",  # not her first name
        "This is Maria Lopes, DOB 3/14/1988",  # not her last name
    ],
)
def test_a_near_miss_opens_no_request_and_gets_the_same_answer(spa, twilio, outbox, words):
    _, reply = claim_from_new_number(spa, twilio, outbox, words)
    assert reply == CLAIM_REPLY  # word for word what a match gets
    assert not PatientLinkRequest.objects.exists()


@pytest.mark.parametrize(
    "words",
    ["Hi, it's maria lopez. My birthday is March 14, 1988", "me llamo María López, fecha de nacimiento 14/03/1988"],
)
def test_other_ways_of_writing_name_and_date_are_understood(spa, twilio, outbox, words):
    claim_from_new_number(spa, twilio, outbox, words)
    assert PatientLinkRequest.objects.get().patient == spa["maria"]


def test_another_practices_patient_is_never_matched(spa, twilio, outbox):
    other = PracticeFactory()
    PatientFactory(practice=other, first_name="Dana", last_name="Kim", date_of_birth=date(1990, 1, 2))
    other_desk = StaffMemberFactory(practice=other, role="manager").user
    phone, reply = claim_from_new_number(spa, twilio, outbox, "This is Dana Kim, DOB 1/2/1990")
    assert reply == CLAIM_REPLY  # word for word what a match gets
    assert not PatientLinkRequest.objects.exists()
    # And another practice's staff can't decide this practice's requests.
    phone.text("This is Maria Lopez, DOB 3/14/1988")
    request = PatientLinkRequest.objects.get()
    outsider = Client()
    outsider.force_login(other_desk)
    assert outsider.post(reverse("console-link-confirm", args=[request.pk])).status_code == 404
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_second_practice_on_the_same_number_keeps_its_own_patients(spa, twilio, outbox):
    """Maria's number calling another practice is that practice's stranger: no name, no record of hers."""
    other = PracticeFactory(brand_name="Other Spa")
    location = LocationFactory(practice=other, time_zone="America/New_York")
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(19))
    PhoneNumberFactory(practice=other, location=location, number="+12125550199")
    params = {"CallSid": "CA" + "5" * 32, "To": "+12125550199", "Called": "+12125550199"}
    twilio(VOICE, fixture("voice_incoming", **params))
    greeting = twilio(DIAL, fixture("voice_dial_status_no_answer", **params)).content.decode()
    assert "Hi, thanks for calling Other Spa" in greeting and "Maria" not in greeting
    assert Call.objects.get(call_sid=params["CallSid"]).patient is None
