"""The follow-up cadence for a missed caller who has not replied: 5 min, 30 min, 2 h, 24 h, rotating
channel, stopping at the first reply, booking, opt-out or staff takeover."""

from datetime import datetime, timedelta

from django.db.models import Q

from booking.models import Appointment
from practices.models import ContactConsent

from ..messaging.channels import has_chosen_channel, reachable_on
from ..models import Call, Channel, Conversation, Message, Outreach
from .callback import callback_for

STEPS = [(1, timedelta(minutes=5)), (2, timedelta(minutes=30)), (3, timedelta(hours=2)), (4, timedelta(hours=24))]


def channel_for_step(step: int, *, email: str, whatsapp: bool) -> str:
    """SMS first; then email where we know it; then WhatsApp where the patient opted in; SMS otherwise."""
    if step == 2 and email:
        return Channel.EMAIL
    if step == 3 and whatsapp:
        return Channel.WHATSAPP
    return Channel.SMS


def follow_ups_for(*, call: Call, location, patient) -> list[Outreach]:
    consent = ContactConsent.objects.filter(practice_id=call.practice_id, phone=call.from_phone).first()
    whatsapp = bool(consent and consent.whatsapp_opted_in)
    email = patient.email if patient else ""
    # A patient whose channel we know (learned from their replies, or chosen) gets every step on it, where
    # they can be reached there (else SMS); for anyone else the steps rotate.
    preferred = None
    if has_chosen_channel(patient):
        preferred = reachable_on(
            patient=patient, phone=call.from_phone, channel=patient.preferred_channel, consent=consent
        ).channel
    follow_ups = [
        Outreach(
            practice_id=call.practice_id,
            kind=Outreach.Kind.FOLLOW_UP,
            step=step,
            call=call,
            phone=call.from_phone,
            email=email,
            patient=patient,
            location=location,
            channel=preferred or channel_for_step(step, email=email, whatsapp=whatsapp),
            template_key="follow_up",
            due_at=call.missed_at + delay,
        )
        for step, delay in STEPS
    ]
    # The practice's automated voice callback, an hour in, where it is turned on (calls/outreach/callback.py).
    callback = callback_for(call=call, location=location, patient=patient)
    return follow_ups + ([callback] if callback else [])


def not_before(outreach: Outreach) -> datetime | None:
    """When a follow-up may go: its delay after the text-back actually went out. A text-back held
    back by quiet hours moves the whole cadence with it, rather than four messages at 8 am."""
    text_back = (
        Outreach.objects.filter(call_id=outreach.call_id, kind=Outreach.Kind.TEXT_BACK, step=0)
        .select_related("message")
        .first()
    )
    delay = dict(STEPS)[outreach.step]
    if text_back is None:
        return None
    if text_back.state == Outreach.State.SENT and text_back.message and text_back.message.sent_at:
        return text_back.message.sent_at + delay
    return text_back.due_at + delay


def stop_reason(outreach: Outreach) -> str:
    """Why a follow-up should not go out any more, or an empty string."""
    call = outreach.call
    if call is None:
        return ""
    text_back = Outreach.objects.filter(call=call, kind=Outreach.Kind.TEXT_BACK, step=0).first()
    if text_back is not None and text_back.state in (
        Outreach.State.SKIPPED,
        Outreach.State.FAILED,
        Outreach.State.CANCELLED,
    ):
        return "no text-back went out"
    since = call.missed_at or call.started_at
    phone = outreach.phone
    replied = Message.objects.filter(
        practice_id=outreach.practice_id,
        direction=Message.Direction.INBOUND,
        conversation__phone=phone,
        created_at__gt=since,
    ).exists()
    if replied:
        return "patient replied"
    booked = Appointment.objects.filter(practice_id=outreach.practice_id, created_at__gt=since).filter(
        Q(patient__phone=phone)
    )
    if booked.exists():
        return "patient booked"
    if ContactConsent.objects.filter(
        practice_id=outreach.practice_id, phone=phone, status=ContactConsent.Status.OPTED_OUT
    ).exists():
        return "patient opted out"
    if Conversation.objects.filter(practice_id=outreach.practice_id, phone=phone, taken_over_by__isnull=False).exists():
        return "staff took over"
    return ""


def cadence_stop(*, practice_id: int, phone: str, reason: str) -> int:
    """Stop every pending follow-up (and voice callback) to `phone` now (they would be stopped at send
    time anyway)."""
    return Outreach.objects.filter(
        practice_id=practice_id,
        phone=phone,
        kind__in=[Outreach.Kind.FOLLOW_UP, Outreach.Kind.CALLBACK],
        state=Outreach.State.PENDING,
    ).update(state=Outreach.State.CANCELLED, state_reason=reason[:120])
