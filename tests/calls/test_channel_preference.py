"""The channel a patient answers on becomes their channel for reminders and follow-ups, unless they or
staff chose one; WhatsApp only with WhatsApp consent, email only with an address, SMS otherwise."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from booking.models import Appointment, SeriesEnrollment, SeriesTemplate
from calls.models import Outreach
from calls.outreach.series import series_prompt
from calls.tasks import outreach_sweep
from practices.models import Patient
from tests.calls.conftest import fixture
from tests.factories import PatientFactory, ProviderFactory, ProviderShiftFactory, ServiceFactory, StaffMemberFactory

VOICE = "/webhooks/twilio/voice/"
DIAL = "/webhooks/twilio/voice/dial-status/"
GATHER = "/webhooks/twilio/voice/gather/"
SMS = "/webhooks/twilio/sms/"
MARIA = "+16465550188"


@pytest.fixture
def spa(line):
    botox = ServiceFactory(practice=line.practice, name="Botox", slug="botox", duration_minutes=30)
    nurse = ProviderFactory(practice=line.practice, first_name="Sofia")
    nurse.locations.add(line.location)
    nurse.services.add(botox)
    for weekday in range(7):
        ProviderShiftFactory(
            provider=nurse, location=line.location, weekday=weekday, starts_at=time(9), ends_at=time(19)
        )
    maria = PatientFactory(
        practice=line.practice,
        phone=MARIA,
        first_name="Maria",
        last_name="Lopez",
        email="maria@example.com",
        is_returning=True,
    )
    return {"line": line, "botox": botox, "nurse": nurse, "maria": maria}


class Messages:
    """Maria's phone: texts and WhatsApp messages through the signed webhook."""

    def __init__(self, twilio):
        self.twilio, self.n = twilio, 0

    def send(self, body: str, *, whatsapp: bool = False) -> None:
        self.n += 1
        sid = f"SM{'wa' if whatsapp else 'sm'}{self.n:030d}"
        if whatsapp:
            params = fixture("whatsapp_inbound", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
        else:
            params = fixture("sms_inbound", Body=body, From=MARIA, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
        assert self.twilio(SMS, params).status_code == 200


def book_by_phone(twilio) -> Appointment:
    """Maria calls, nobody picks up, and she books with the receptionist by voice."""
    twilio(VOICE, fixture("voice_incoming"))
    twilio(DIAL, fixture("voice_dial_status_no_answer"))
    offer = twilio(GATHER, fixture("voice_gather", SpeechResult="any botox on saturday morning")).content.decode()
    assert "I have 1)" in offer
    done = twilio(GATHER + "?turn=1", fixture("voice_gather", SpeechResult="the first one")).content.decode()
    assert "texted you the details" in done
    return Appointment.objects.get()


def reminder_channels(appointment: Appointment) -> list[str]:
    return list(
        Outreach.objects.filter(kind=Outreach.Kind.REMINDER, appointment=appointment)
        .order_by("due_at")
        .values_list("channel", flat=True)
    )


@pytest.mark.parametrize(("answers_on_whatsapp", "channel"), [(True, "whatsapp"), (False, "sms")])
def test_a_whatsapp_reply_makes_whatsapp_the_channel_of_the_next_reminder(
    spa, twilio, outbox, clock, answers_on_whatsapp, channel
):
    if answers_on_whatsapp:
        Messages(twilio).send("hello, is saturday open?", whatsapp=True)
        maria = Patient.objects.get(pk=spa["maria"].pk)
        assert (maria.preferred_channel, maria.preferred_channel_set_by) == ("whatsapp", "learned")
    appointment = book_by_phone(twilio)
    # Speaking on a call is not a reminder channel: it teaches nothing.
    assert Patient.objects.get(pk=spa["maria"].pk).preferred_channel == channel
    assert reminder_channels(appointment) == [channel, channel]
    clock.move_to(appointment.starts_at - timedelta(hours=48) + timedelta(minutes=1))
    before = len(outbox)
    outreach_sweep()
    [reminder] = [sent for sent in outbox[before:] if "reminder" in sent.body]
    assert (reminder.channel, reminder.to) == (channel, MARIA)


def test_a_staff_choice_is_never_overwritten_by_learning(spa, twilio, outbox, client):
    client.force_login(StaffMemberFactory(practice=spa["line"].practice, role="front_desk").user)
    response = client.post(reverse("console-patient-channel", args=[spa["maria"].pk]), {"channel": "email"})
    assert response.status_code == 302
    maria = Patient.objects.get(pk=spa["maria"].pk)
    assert (maria.preferred_channel, maria.preferred_channel_set_by) == ("email", "staff")
    assert "(staff)" in client.get(reverse("console-patient", args=[maria.pk])).content.decode()

    Messages(twilio).send("any botox saturday morning?", whatsapp=True)
    Messages(twilio).send("hello again")
    maria.refresh_from_db()
    assert (maria.preferred_channel, maria.preferred_channel_set_by) == ("email", "staff")
    appointment = book_by_phone(twilio)
    reminders = Outreach.objects.filter(kind=Outreach.Kind.REMINDER, appointment=appointment)
    assert {(r.channel, r.email) for r in reminders} == {("email", "maria@example.com")}


def test_staff_cannot_choose_email_for_a_patient_without_an_address(spa, client):
    Patient.objects.filter(pk=spa["maria"].pk).update(email="")
    client.force_login(StaffMemberFactory(practice=spa["line"].practice, role="front_desk").user)
    response = client.post(
        reverse("console-patient-channel", args=[spa["maria"].pk]), {"channel": "email"}, follow=True
    )
    assert "has no email address" in response.content.decode()
    assert Patient.objects.get(pk=spa["maria"].pk).preferred_channel_set_by == ""


def test_whatsapp_without_whatsapp_consent_falls_back_to_sms(spa, twilio, outbox):
    Patient.objects.filter(pk=spa["maria"].pk).update(preferred_channel="whatsapp", preferred_channel_set_by="staff")
    appointment = book_by_phone(twilio)
    assert reminder_channels(appointment) == ["sms", "sms"]


def test_missed_call_follow_ups_go_by_the_learned_channel(spa, twilio, outbox, clock):
    Messages(twilio).send("hi", whatsapp=True)
    clock.move_to(timezone.now() + timedelta(days=2))  # not "in touch in the last day", so a text-back goes
    twilio(VOICE, fixture("voice_incoming"))
    twilio(DIAL, fixture("voice_dial_status_no_answer"))
    text_back = Outreach.objects.get(kind=Outreach.Kind.TEXT_BACK)
    assert text_back.channel == "sms"  # the number that called gets the text-back
    follow_ups = Outreach.objects.filter(kind=Outreach.Kind.FOLLOW_UP).order_by("step")
    assert [o.channel for o in follow_ups] == ["whatsapp"] * 4


def test_a_series_prompt_goes_by_whatsapp_when_that_is_where_they_answer(spa, twilio, outbox):
    Messages(twilio).send("hi", whatsapp=True)
    template = SeriesTemplate.objects.create(
        practice=spa["line"].practice, name="Tox", service=spa["botox"], visits=4, interval_days=90
    )
    today = timezone.localdate()
    enrollment = SeriesEnrollment.objects.create(
        practice=spa["line"].practice,
        patient=spa["maria"],
        template=template,
        visits_done=1,
        status=SeriesEnrollment.Status.DUE,
        next_due_from=today,
        next_due_on=today + timedelta(days=3),
        next_due_until=today + timedelta(days=10),
    )
    prompt = series_prompt(enrollment=enrollment)
    assert prompt.channel == "whatsapp" and prompt.conversation.channel == "whatsapp"
    assert prompt.conversation.context["series"] == enrollment.pk


def test_a_manager_changing_the_channel_in_the_admin_marks_it_chosen_by_staff(spa, client):
    maria = spa["maria"]
    client.force_login(StaffMemberFactory(practice=spa["line"].practice, role="manager").user)
    response = client.post(
        reverse("admin:practices_patient_change", args=[maria.pk]),
        {
            "first_name": "Maria",
            "last_name": "Lopez",
            "phone": MARIA,
            "email": "maria@example.com",
            "preferred_channel": "email",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    maria.refresh_from_db()
    assert (maria.preferred_channel, maria.preferred_channel_set_by) == ("email", "staff")
