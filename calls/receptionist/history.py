"""What the receptionist knows of a patient before they say anything: their next visit, a treatment series
that is due, the treatment they had last, and where the last conversation stopped.

Reads only, scoped to the patient (so to their practice). The dialogue decides what to say with them
(dialogue.py); times are never taken from here, only from the booking engine. A thread's patient is the
number's own record until staff confirm a link, so a texter who only claims to be someone gets none of
that someone's history.
"""

from datetime import datetime, timedelta

from django.utils import timezone

from booking.models import Appointment, SeriesEnrollment
from practices.models import Patient, Service

from ..models import Conversation, Message

# A dialogue left mid-way is picked up where it stopped within this long; after that it starts over.
RESUME_WITHIN = timedelta(days=7)


def upcoming_visit(patient: Patient | None) -> Appointment | None:
    if patient is None:
        return None
    return (
        Appointment.objects.filter(
            patient=patient,
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
            starts_at__gte=timezone.now(),
        )
        .select_related("service", "location", "practice")
        .order_by("starts_at")
        .first()
    )


def due_series(patient: Patient | None) -> SeriesEnrollment | None:
    """A treatment series whose next visit is due or late, most overdue first."""
    if patient is None:
        return None
    return (
        SeriesEnrollment.objects.filter(
            patient=patient,
            status__in=[SeriesEnrollment.Status.DUE, SeriesEnrollment.Status.LATE],
            template__service__is_active=True,
            next_due_from__isnull=False,
            next_due_until__isnull=False,
        )
        .select_related("template__service")
        .order_by("next_due_until", "pk")
        .first()
    )


def last_service(patient: Patient | None) -> Service | None:
    """The treatment of the patient's last completed visit, if it is still on the menu."""
    if patient is None:
        return None
    visit = (
        Appointment.objects.filter(patient=patient, status=Appointment.Status.COMPLETED, service__is_active=True)
        .select_related("service")
        .order_by("-starts_at")
        .first()
    )
    return visit.service if visit else None


def last_activity(conversation: Conversation, *, before: Message) -> datetime | None:
    """When anything was last said in the thread, either way, before `before`."""
    return (
        conversation.messages.filter(created_at__lt=before.created_at)
        .exclude(pk=before.pk)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def left_long_ago(conversation: Conversation, *, before: Message) -> bool:
    """A dialogue left mid-way (a question asked, times offered) longer ago than RESUME_WITHIN."""
    mid_way = (Conversation.State.GREETING, Conversation.State.QUALIFYING, Conversation.State.OFFERING)
    if conversation.state not in mid_way or not conversation.context:
        return False
    last = last_activity(conversation, before=before)
    return last is not None and before.created_at - last > RESUME_WITHIN
