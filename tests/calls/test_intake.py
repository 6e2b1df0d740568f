"""Intake for new patients end to end: booked by text (the real SMS webhook), in the console or through the
API, they get one link to their form a minute after the confirmation, and one reminder if it is not done
`intake_reminder_hours` before the visit, through the outreach sweep (quiet hours and opt-outs as always)."""

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from booking import intake
from booking import services as booking
from booking.models import Appointment, IntakeForm
from calls.models import Outreach
from calls.outreach.intake import intake_invite
from calls.tasks import outreach_sweep
from practices.models import ConsentEvent
from practices.services import consent_record
from tests.calls import test_dialogue
from tests.factories import AppointmentFactory, PatientFactory, StaffMemberFactory

Patient = test_dialogue.Patient  # a patient's phone, texting through the signed webhook
spa = test_dialogue.spa  # the fixture: Glow Aesthetics, Botox and a consultation, a nurse working every day
LINK = re.compile(r"https://receptionist\.test(/intake/[^\s/]+/)")


def intake_texts(outbox, phone="+16465550188") -> list[str]:
    return [sent.body for sent in outbox if sent.to == phone and "/intake/" in sent.body]


def link_in(body: str) -> str:
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def test_a_new_patient_booked_by_text_gets_the_form_link_after_the_confirmation(spa, twilio, outbox, clock):
    patient = Patient(twilio, outbox)
    patient.text("do you have anything for botox next week")
    patient.text("no, first time")
    confirmation = patient.text("2")  # the only reply to the booking text is the confirmation
    assert "You're booked" in confirmation
    appointment = Appointment.objects.get()
    form = IntakeForm.objects.get()
    assert (form.appointment, form.patient, form.status) == (appointment, appointment.patient, "sent")
    link = Outreach.objects.get(kind="intake")
    assert link.state == "pending" and link.step == 0 and link.appointment == appointment
    assert timedelta(seconds=59) < link.due_at - link.created_at <= timedelta(seconds=61)
    assert intake_texts(outbox) == []

    clock.move_to(link.due_at + timedelta(seconds=1))
    outreach_sweep()
    texts = intake_texts(outbox)
    assert len(texts) == 1
    assert texts[0].startswith("Welcome to Glow Aesthetics!") and "new patient form" in texts[0]
    assert appointment.local_start.strftime("%a %b %-d at %-I:%M %p") in texts[0]
    assert settings.PUBLIC_BASE_URL == "https://receptionist.test"
    page = Client().get(link_in(texts[0]))
    assert page.status_code == 200 and "Glow Aesthetics" in page.content.decode()
    link.refresh_from_db()
    assert link.state == "sent" and link.message.kind == "intake_link"

    # Sweeps after that send nothing more.
    outreach_sweep()
    assert len(intake_texts(outbox)) == 1


def test_a_returning_patient_booking_by_text_gets_no_form(spa, twilio, outbox, clock):
    PatientFactory(practice=spa["line"].practice, phone="+16465550188", is_returning=True)
    patient = Patient(twilio, outbox)
    patient.text("botox friday?")
    patient.text("1")
    assert Appointment.objects.count() == 1
    clock.move_to(timezone.now() + timedelta(minutes=2))
    outreach_sweep()
    assert not IntakeForm.objects.exists() and not Outreach.objects.filter(kind="intake").exists()
    assert intake_texts(outbox) == []


def test_a_patient_who_says_they_have_been_before_gets_no_form(spa, twilio, outbox, clock):
    patient = Patient(twilio, outbox)
    patient.text("do you have anything for botox next week")
    patient.text("yes I've been before")
    patient.text("1")
    assert Appointment.objects.get().patient.is_returning
    assert not IntakeForm.objects.exists()


def _staff(spa):
    return StaffMemberFactory(practice=spa["line"].practice, role="front_desk").user


def test_a_new_patient_booked_in_the_console_gets_the_link(spa, outbox, clock):
    desk = Client()
    desk.force_login(_staff(spa))
    start = datetime.combine(timezone.localdate() + timedelta(days=3), datetime.min.time().replace(hour=11))
    start = start.replace(tzinfo=spa["line"].location.zone)
    response = desk.post(
        "/console/schedule/book/confirm/",
        {
            "service": spa["consultation"].pk,
            "location": spa["line"].location.pk,
            "slot": f"{start.isoformat()}|{spa['nurse'].pk}",
            "phone": "(646) 555-0177",
            "first_name": "Nora",
        },
    )
    assert response.status_code == 302
    form = IntakeForm.objects.get()
    assert form.appointment.source == "staff" and form.patient.phone == "+16465550177"
    clock.move_to(timezone.now() + timedelta(minutes=1, seconds=5))
    outreach_sweep()
    assert len(intake_texts(outbox, "+16465550177")) == 1


def test_a_new_patient_booked_through_the_api_gets_the_link_from_the_sweep(spa, outbox, clock):
    api = Client()
    api.force_login(_staff(spa))
    newcomer = PatientFactory(practice=spa["line"].practice, phone="+16465550166")
    start = datetime.combine(timezone.localdate() + timedelta(days=4), datetime.min.time().replace(hour=10))
    response = api.post(
        "/api/v1/appointments/",
        {
            "patient": newcomer.pk,
            "service": spa["botox"].pk,
            "location": spa["line"].location.pk,
            "provider": spa["nurse"].pk,
            "starts_at": start.replace(tzinfo=spa["line"].location.zone).isoformat(),
        },
    )
    assert response.status_code == 201, response.content
    assert not IntakeForm.objects.exists()  # booking sends nothing itself
    outreach_sweep()
    assert IntakeForm.objects.get().appointment.source == "api"
    assert len(intake_texts(outbox, "+16465550166")) == 1
    outreach_sweep()
    assert len(intake_texts(outbox, "+16465550166")) == 1


# The reminder.


@pytest.fixture
def booked(spa, clock):
    """A new patient booked (in the console, say) for Saturday at 11:00, three days ahead; the link went out."""
    patient = PatientFactory(practice=spa["line"].practice, phone="+16465550155", first_name="Ada")
    appointment = AppointmentFactory(
        practice=spa["line"].practice,
        location=spa["line"].location,
        patient=patient,
        service=spa["consultation"],
        provider=spa["nurse"],
        starts_at=datetime(2026, 12, 5, 11, 0, tzinfo=spa["line"].location.zone),
    )
    form = intake_invite(appointment=appointment)
    clock.move_to(timezone.now() + timedelta(minutes=2))
    outreach_sweep()
    return {"appointment": appointment, "form": form, "phone": patient.phone, "practice": spa["line"].practice}


def test_the_reminder_goes_once_24_hours_before_the_visit_if_the_form_is_not_done(booked, outbox, clock):
    phone, visit = booked["phone"], booked["appointment"].starts_at
    assert len(intake_texts(outbox, phone)) == 1  # the link
    clock.move_to(visit - timedelta(hours=24, minutes=1))
    outreach_sweep()
    assert len(intake_texts(outbox, phone)) == 1
    clock.move_to(visit - timedelta(hours=24))
    outreach_sweep()
    texts = intake_texts(outbox, phone)
    assert len(texts) == 2 and texts[1].startswith("Glow Aesthetics reminder: please fill in your new patient form")
    booked["form"].refresh_from_db()
    assert booked["form"].reminded_at is not None
    assert Client().get(link_in(texts[1])).status_code == 200
    for hours in (23, 12, 3):
        clock.move_to(visit - timedelta(hours=hours))
        outreach_sweep()
    assert len(intake_texts(outbox, phone)) == 2
    assert Outreach.objects.filter(kind="intake", appointment=booked["appointment"], step=1).count() == 1


def test_no_reminder_once_the_form_is_done(booked, outbox, clock):
    intake.intake_submit(form=booked["form"], answers={"medications": "none"})
    clock.move_to(booked["appointment"].starts_at - timedelta(hours=24))
    outreach_sweep()
    assert len(intake_texts(outbox, booked["phone"])) == 1
    booked["form"].refresh_from_db()
    assert booked["form"].reminded_at is None


def test_no_reminder_for_a_cancelled_visit_and_a_waiting_message_is_stopped(booked, outbox, clock):
    # The reminder is queued in quiet hours (waiting for 8 am), then the visit is cancelled.
    practice = booked["practice"]
    practice.intake_reminder_hours = 36  # Thursday 23:00 for a Saturday 11:00 visit
    practice.save(update_fields=["intake_reminder_hours"])
    clock.move_to(booked["appointment"].starts_at - timedelta(hours=36))
    outreach_sweep()
    waiting = Outreach.objects.get(kind="intake", step=1)
    assert waiting.state == "pending" and waiting.state_reason == "waiting out quiet hours"
    assert waiting.due_at == datetime(2026, 12, 4, 8, 0, tzinfo=booked["appointment"].location.zone)
    booking.appointment_cancel(appointment=booked["appointment"], reason="can't make it")
    clock.move_to(waiting.due_at + timedelta(minutes=1))
    outreach_sweep()
    waiting.refresh_from_db()
    assert waiting.state == "cancelled" and waiting.state_reason == "visit no longer booked"
    assert len(intake_texts(outbox, booked["phone"])) == 1


def test_a_cancelled_visit_gets_no_reminder_at_all(booked, outbox, clock):
    booking.appointment_cancel(appointment=booked["appointment"], reason="can't make it")
    clock.move_to(booked["appointment"].starts_at - timedelta(hours=24))
    outreach_sweep()
    assert not Outreach.objects.filter(kind="intake", step=1).exists()


def test_a_reminder_waits_out_quiet_hours_and_then_goes(booked, outbox, clock):
    practice = booked["practice"]
    practice.intake_reminder_hours = 36
    practice.save(update_fields=["intake_reminder_hours"])
    clock.move_to(booked["appointment"].starts_at - timedelta(hours=36))
    outreach_sweep()
    assert len(intake_texts(outbox, booked["phone"])) == 1
    clock.move_to(datetime(2026, 12, 4, 8, 0, 30, tzinfo=booked["appointment"].location.zone))
    outreach_sweep()
    assert len(intake_texts(outbox, booked["phone"])) == 2


def test_a_pending_message_stops_when_the_form_is_done(booked, outbox, clock):
    clock.move_to(booked["appointment"].starts_at - timedelta(hours=24))
    IntakeForm.objects.filter(pk=booked["form"].pk).update(reminded_at=timezone.now())
    waiting = Outreach.objects.create(
        practice=booked["practice"],
        kind="intake",
        step=1,
        phone=booked["phone"],
        appointment=booked["appointment"],
        body="x",
        due_at=timezone.now() + timedelta(minutes=5),
    )
    intake.intake_submit(form=booked["form"], answers={"medications": "none"})
    clock.move_to(waiting.due_at + timedelta(seconds=1))
    outreach_sweep()
    waiting.refresh_from_db()
    assert (waiting.state, waiting.state_reason) == ("cancelled", "intake done")


def test_an_opted_out_patient_is_never_texted_the_link_or_the_reminder(spa, outbox, clock):
    practice = spa["line"].practice
    patient = PatientFactory(practice=practice, phone="+16465550144")
    consent_record(practice=practice, phone=patient.phone, kind=ConsentEvent.Kind.OPT_OUT, source="sms")
    appointment = AppointmentFactory(
        practice=practice,
        location=spa["line"].location,
        patient=patient,
        service=spa["consultation"],
        provider=spa["nurse"],
        starts_at=datetime(2026, 12, 5, 11, 0, tzinfo=spa["line"].location.zone),
    )
    intake_invite(appointment=appointment)
    clock.move_to(timezone.now() + timedelta(minutes=2))
    outreach_sweep()
    clock.move_to(appointment.starts_at - timedelta(hours=24))
    outreach_sweep()
    assert intake_texts(outbox, patient.phone) == []
    assert set(Outreach.objects.filter(kind="intake").values_list("state", "state_reason")) == {
        ("skipped", "opted out")
    }


def test_a_visit_booked_inside_the_reminder_window_gets_the_link_only(spa, outbox, clock):
    practice = spa["line"].practice
    patient = PatientFactory(practice=practice, phone="+16465550133")
    appointment = AppointmentFactory(
        practice=practice,
        location=spa["line"].location,
        patient=patient,
        service=spa["consultation"],
        provider=spa["nurse"],
        starts_at=timezone.now() + timedelta(hours=6),
    )
    intake_invite(appointment=appointment)
    for minutes in (2, 60, 300):
        clock.move_to(appointment.created_at + timedelta(minutes=minutes))
        outreach_sweep()
    assert len(intake_texts(outbox, patient.phone)) == 1
