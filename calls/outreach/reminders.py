"""Appointment reminders: 48 h and 2 h before a visit, by the patient's preferred channel where they can
be reached on it (messaging/channels.py), else SMS. Whoever booked the visit (the receptionist, staff at
the desk or at checkout) schedules them the same way."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import Appointment
from practices.selectors import message_text

from ..messaging.channels import preferred_route
from ..messaging.services import outreach_queue, outreach_to_patient
from ..models import Conversation, Outreach

REMINDERS = (("reminder_48h", timedelta(hours=48)), ("reminder_2h", timedelta(hours=2)))


def _when(moment) -> str:
    return moment.strftime("%a %b %-d at %-I:%M %p")


@transaction.atomic
def reminders_schedule(*, appointment: Appointment, conversation: Conversation | None = None) -> list[Outreach]:
    """Queue the visit's reminders that are still ahead. Reminders still waiting for this visit are
    stopped first, so a moved visit is reminded of its new time, once. With a conversation, they go in
    that thread; without one, to the patient's number (sending puts them in their thread)."""
    Outreach.objects.filter(appointment=appointment, kind=Outreach.Kind.REMINDER, state=Outreach.State.PENDING).update(
        state=Outreach.State.CANCELLED, state_reason="visit moved"
    )
    patient = appointment.patient
    phone = conversation.phone if conversation is not None else patient.phone
    route = preferred_route(patient=patient, phone=phone)
    queued = []
    for key, before in REMINDERS:
        due = appointment.starts_at - before
        if due <= timezone.now():
            continue
        fields = {
            "channel": route.channel,
            "email": route.email,
            "patient": patient,
            "location": appointment.location,
            "appointment": appointment,
            "due_at": due,
            "template_key": key,
            "body": message_text(
                practice=appointment.practice,
                key=key,
                service=appointment.service.name,
                when=_when(appointment.local_start),
                when_time=appointment.local_start.strftime("%-I:%M %p"),
                location=appointment.location.name,
            ),
        }
        if conversation is not None:
            queued.append(
                outreach_to_patient(conversation=conversation, kind=Outreach.Kind.REMINDER, automated=True, **fields)
            )
        else:
            queued.append(
                outreach_queue(
                    practice_id=appointment.practice_id,
                    phone=phone,
                    kind=Outreach.Kind.REMINDER,
                    automated=True,
                    **fields,
                )
            )
    return queued
