"""Rebooking prompts for treatment series: due patients get a text that opens the booking dialogue
in their series' next window."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import SeriesEnrollment
from practices.models import Practice
from practices.selectors import message_text

from ..messaging.channels import preferred_route
from ..messaging.services import outreach_queue
from ..models import Channel, Conversation, Outreach

PROMPT_EVERY = timedelta(days=7)


def series_dialogue(enrollment: SeriesEnrollment) -> dict:
    """The dialogue's memory for booking the series' next visit: its treatment, in its window, for a
    returning patient, with nothing left to ask (the receptionist offers times next)."""
    return {
        "glow": {
            "service": enrollment.template.service.slug,
            "new_patient": False,
            "times": {
                "range_start": max(enrollment.next_due_from, timezone.localdate()).isoformat(),
                "range_end": enrollment.next_due_until.isoformat(),
            },
        },
        "scores": {"goals": 5, "openness": 5, "window": 4},
        "asked": ["goals", "openness", "window"],
        "series": enrollment.pk,
    }


@transaction.atomic
def series_prompt(*, enrollment: SeriesEnrollment) -> Outreach | None:
    """Text one due patient a rebooking prompt (at most once a week) and get the dialogue ready to
    offer times in their window."""
    enrollment = (
        SeriesEnrollment.objects.select_for_update()
        .select_related("patient", "template__service", "practice")
        .get(pk=enrollment.pk)
    )
    now = timezone.now()
    if enrollment.last_contact_at and now - enrollment.last_contact_at < PROMPT_EVERY:
        return None
    patient = enrollment.patient
    practice = enrollment.practice
    # The prompt opens a dialogue, so it goes where the patient can answer: WhatsApp when that is their
    # reachable preferred channel, otherwise SMS (we receive no email replies).
    channel = preferred_route(patient=patient, phone=patient.phone).channel
    channel = channel if channel == Channel.WHATSAPP else Channel.SMS
    conversation, _ = Conversation.objects.get_or_create(
        practice=practice,
        phone=patient.phone,
        channel=channel,
        defaults={"patient": patient, "location": patient.home_location},
    )
    if conversation.staff_has_it or conversation.state == Conversation.State.HANDED_OFF:
        return None
    window = f"between {enrollment.next_due_from:%b %-d} and {enrollment.next_due_until:%b %-d}"
    conversation.context = series_dialogue(enrollment)
    conversation.state = Conversation.State.QUALIFYING
    conversation.save(update_fields=["context", "state"])
    enrollment.last_contact_at = now
    enrollment.last_contact_outcome = "Texted a rebooking prompt"
    enrollment.save(update_fields=["last_contact_at", "last_contact_outcome"])
    return outreach_queue(
        practice=practice,
        kind=Outreach.Kind.REBOOK,
        phone=patient.phone,
        channel=channel,
        conversation=conversation,
        patient=patient,
        location=patient.home_location,
        template_key="series_rebook_prompt",
        body=message_text(
            practice=practice,
            key="series_rebook_prompt",
            first_name=patient.first_name,
            service=enrollment.template.service.name,
            window=window,
        ),
    )


def series_prompts(*, practice: Practice) -> int:
    due = SeriesEnrollment.objects.filter(
        practice=practice, status__in=[SeriesEnrollment.Status.DUE, SeriesEnrollment.Status.LATE]
    )
    return sum(1 for enrollment in due if series_prompt(enrollment=enrollment))
