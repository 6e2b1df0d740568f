"""Rebooking prompts for treatment series: due patients get a text that opens the booking dialogue
in their series' next window."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from booking.models import SeriesEnrollment
from practices.models import Practice
from practices.selectors import message_text

from ..messaging.services import outreach_queue
from ..models import Channel, Conversation, Outreach

PROMPT_EVERY = timedelta(days=7)


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
    conversation, _ = Conversation.objects.get_or_create(
        practice=practice,
        phone=patient.phone,
        channel=Channel.SMS,
        defaults={"patient": patient, "location": patient.home_location},
    )
    if conversation.staff_has_it or conversation.state == Conversation.State.HANDED_OFF:
        return None
    window = f"between {enrollment.next_due_from:%b %-d} and {enrollment.next_due_until:%b %-d}"
    conversation.context = {
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
    conversation.state = Conversation.State.QUALIFYING
    conversation.save(update_fields=["context", "state"])
    enrollment.last_contact_at = now
    enrollment.last_contact_outcome = "Texted a rebooking prompt"
    enrollment.save(update_fields=["last_contact_at", "last_contact_outcome"])
    return outreach_queue(
        practice=practice,
        kind=Outreach.Kind.REBOOK,
        phone=patient.phone,
        channel=Channel.SMS,
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
