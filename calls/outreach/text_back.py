"""The missed-call text-back: within about a second, naming the practice, asking one question."""

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from booking.models import Appointment
from practices.selectors import message_text, patient_for_phone, phone_is_blocked, phone_is_opted_out

from ..messaging.services import outreach_queue
from ..models import Call, Message, Outreach
from .cadence import follow_ups_for

logger = logging.getLogger(__name__)

RECENT_CONTACT = timedelta(hours=24)
UPCOMING_VISIT = timedelta(hours=48)


def _skip(call: Call, reason: str) -> Outreach:
    outreach, _ = Outreach.objects.get_or_create(
        call=call,
        kind=Outreach.Kind.TEXT_BACK,
        step=0,
        defaults={
            "practice_id": call.practice_id,
            "phone": call.from_phone,
            "state": Outreach.State.SKIPPED,
            "state_reason": reason,
            "location": call.location,
        },
    )
    return outreach


def _recently_in_touch(call: Call) -> bool:
    # Contact before this call: what the caller says on this very call must not cancel its text-back.
    since = call.started_at - RECENT_CONTACT
    if Message.objects.filter(
        practice_id=call.practice_id,
        conversation__phone=call.from_phone,
        created_at__gte=since,
        created_at__lt=call.started_at,
    ).exists():
        return True
    return (
        Outreach.objects.filter(
            practice_id=call.practice_id,
            phone=call.from_phone,
            kind=Outreach.Kind.TEXT_BACK,
            created_at__gte=since,
            state__in=[Outreach.State.PENDING, Outreach.State.SENDING, Outreach.State.SENT],
        )
        .exclude(call=call)
        .exists()
    )


@transaction.atomic
def text_back_for_missed_call(*, call: Call) -> Outreach:
    """Queue the text-back for a missed call (once per call) and the follow-up cadence behind it.

    Skipped, with the reason kept on the Outreach row, for anonymous callers, opted-out or blocked
    numbers and anyone we were in touch with in the last day. A caller with a visit in the next 48
    hours gets a text about that visit, and no cadence.
    """
    existing = Outreach.objects.filter(call=call, kind=Outreach.Kind.TEXT_BACK, step=0).first()
    if existing:
        return existing
    if not call.from_phone:
        return _skip(call, "caller id withheld")
    if phone_is_opted_out(practice=call.practice, phone=call.from_phone):
        return _skip(call, "opted out")
    if phone_is_blocked(practice=call.practice, phone=call.from_phone):
        return _skip(call, "blocked number")
    if _recently_in_touch(call):
        return _skip(call, "in touch in the last day")

    patient = call.patient or patient_for_phone(practice=call.practice_id, phone=call.from_phone)
    upcoming = None
    if patient is not None:
        upcoming = (
            Appointment.objects.filter(
                patient=patient,
                status__in=["booked", "confirmed"],
                starts_at__gte=timezone.now(),
                starts_at__lte=timezone.now() + UPCOMING_VISIT,
            )
            .select_related("service", "location")
            .order_by("starts_at")
            .first()
        )
    fields = {
        "practice_id": call.practice_id,
        "kind": Outreach.Kind.TEXT_BACK,
        "step": 0,
        "call": call,
        "phone": call.from_phone,
        "patient": patient,
        "location": call.location,
    }
    if upcoming is not None:
        fields["template_key"] = "missed_call_upcoming_visit"
        fields["body"] = message_text(
            practice=call.practice,
            key="missed_call_upcoming_visit",
            first_name=patient.first_name,
            service=upcoming.service.name,
            when=upcoming.local_start.strftime("%a %b %-d at %-I:%M %p"),
        )
    elif patient is not None and patient.first_name:
        fields["template_key"] = "missed_call_textback_known"  # greeted by first name, at send time
    else:
        fields["template_key"] = "missed_call_textback"
    try:
        with transaction.atomic():
            outreach = outreach_queue(**fields)
    except IntegrityError:  # a concurrent delivery of the same missed call queued it first
        return Outreach.objects.get(call=call, kind=Outreach.Kind.TEXT_BACK, step=0)
    if upcoming is None:
        Outreach.objects.bulk_create(follow_ups_for(call=call, location=call.location, patient=patient))
    logger.info("text-back %s queued for call %s", outreach.pk, call.pk)
    return outreach
