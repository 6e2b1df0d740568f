"""Queue and send outbound messages: consent, quiet hours, the practice's name and the opt-out hint
are enforced here, at send time, for every message whoever asked for it."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escalations.routing import wider_alert_not_needed
from practices.models import ConsentEvent, ContactConsent, Practice
from practices.selectors import message_text, phone_is_blocked
from practices.services import consent_record

from ..models import Channel, Conversation, Message, Outreach
from .backends import Outbound, SendError, get_backend
from .quiet_hours import next_allowed, patient_zone

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
CLAIM_EXPIRES = timedelta(minutes=5)
# Messages that must reach an opted-out number exactly once: the confirmation of the opt-out itself,
# and answers to HELP, which carriers require.
ALLOWED_WHEN_OPTED_OUT = {"opt_out_confirmation", "help_reply"}
# The purpose of a delayed staff alert, followed by the escalation's id: not sent once it is claimed.
ESCALATION_ALERT = "escalation:"


def outreach_queue(**fields) -> Outreach:
    """Store an outbound message as an Outreach row and send it as soon as the transaction commits."""
    outreach = Outreach.objects.create(**fields)
    if outreach.due_at <= timezone.now() + timedelta(seconds=1):
        transaction.on_commit(lambda: _dispatch(outreach.pk))
    return outreach


def outreach_to_patient(*, conversation: Conversation, kind: str, automated: bool = False, **fields) -> Outreach:
    """Queue a message to the patient of a thread. Written words for a phone call go by SMS, in the
    patient's SMS thread: a voice thread cannot carry text."""
    on_call = conversation.channel == Channel.VOICE
    defaults = {
        "practice_id": conversation.practice_id,
        "phone": conversation.phone,
        "channel": Channel.SMS if on_call else conversation.channel,
        "conversation": None if on_call else conversation,
        "patient": conversation.patient,
        "location": conversation.location,
    }
    return outreach_queue(**(defaults | fields), kind=kind, automated=automated)


def _dispatch(outreach_id: int) -> None:
    from django_q.tasks import async_task

    async_task("calls.tasks.outreach_send", outreach_id, task_name=f"outreach-{outreach_id}")


def outreach_claim(outreach_id: int) -> bool:
    """Move a due row from pending to sending; only one worker can win."""
    now = timezone.now()
    return bool(
        Outreach.objects.filter(pk=outreach_id, state=Outreach.State.PENDING, due_at__lte=now).update(
            state=Outreach.State.SENDING, claimed_at=now
        )
    )


def outreach_release_stale() -> int:
    """Rows left in sending by a worker that died go back to pending (the sweep calls this)."""
    return Outreach.objects.filter(state=Outreach.State.SENDING, claimed_at__lt=timezone.now() - CLAIM_EXPIRES).update(
        state=Outreach.State.PENDING
    )


def _finish(outreach: Outreach, state: str, reason: str = "", **fields) -> None:
    outreach.state = state
    outreach.state_reason = reason[:120]
    for name, value in fields.items():
        setattr(outreach, name, value)
    outreach.save(update_fields=["state", "state_reason", *fields])


def _consent_refuses(outreach: Outreach) -> str:
    if outreach.channel == Channel.EMAIL:
        return ""
    consent = ContactConsent.objects.filter(practice_id=outreach.practice_id, phone=outreach.phone).first()
    if (
        consent
        and consent.status == ContactConsent.Status.OPTED_OUT
        and (outreach.template_key not in ALLOWED_WHEN_OPTED_OUT)
    ):
        return "opted out"
    if outreach.channel == Channel.WHATSAPP and not (consent and consent.whatsapp_opted_in):
        return "not opted in to WhatsApp"
    if outreach.kind != Outreach.Kind.STAFF_ALERT and phone_is_blocked(
        practice=outreach.practice, phone=outreach.phone
    ):
        return "blocked number"
    return ""


def _body_for(outreach: Outreach, conversation: Conversation | None) -> str:
    practice: Practice = outreach.practice
    body = outreach.body or message_text(practice=practice, key=outreach.template_key, **_context(outreach))
    if practice.brand_name.lower() not in body.lower():
        body = f"{practice.brand_name}: {body}"
    first_in_thread = (
        conversation is not None and not conversation.messages.filter(direction=Message.Direction.OUTBOUND).exists()
    )
    # Consent confirmations carry their own wording (an opt-out confirmation must not say "reply STOP").
    if (
        first_in_thread
        and outreach.kind != Outreach.Kind.CONSENT
        and outreach.channel in (Channel.SMS, Channel.WHATSAPP)
        and "STOP" not in body
    ):
        body = f"{body} {message_text(practice=practice, key='opt_out_hint')}"
    return body


def _context(outreach: Outreach) -> dict:
    patient = outreach.patient
    location = outreach.location
    return {
        "first_name": patient.first_name if patient else "",
        "phone": (location.phone if location else "") or outreach.practice.contact_phone,
        "location": location.name if location else "",
    }


def outreach_send(outreach_id: int) -> str:
    """Send one claimed Outreach row; returns what happened. Safe to call twice: the claim decides."""
    if not outreach_claim(outreach_id):
        return "not claimed"
    outreach = Outreach.objects.select_related("practice", "patient", "location", "call").get(pk=outreach_id)
    now = timezone.now()

    if outreach.kind == Outreach.Kind.CALLBACK:
        return _place_callback(outreach, now)
    if outreach.kind == Outreach.Kind.STAFF_ALERT and outreach.purpose.startswith(ESCALATION_ALERT):
        reason = wider_alert_not_needed(escalation_id=int(outreach.purpose.removeprefix(ESCALATION_ALERT)))
        if reason:
            _finish(outreach, Outreach.State.SKIPPED, reason)
            return "skipped"
    if outreach.kind == Outreach.Kind.FOLLOW_UP:
        from ..outreach.cadence import not_before, stop_reason

        reason = stop_reason(outreach)
        if reason:
            _finish(outreach, Outreach.State.CANCELLED, reason)
            return "cancelled"
        earliest = not_before(outreach)
        if earliest is not None and earliest > now:
            _finish(outreach, Outreach.State.PENDING, "waits for the text-back", due_at=earliest)
            return "deferred"
    visit_starts = None
    if outreach.kind == Outreach.Kind.INTAKE:
        from ..outreach.intake import intake_stop_reason

        reason = intake_stop_reason(outreach)
        if reason:
            _finish(outreach, Outreach.State.CANCELLED, reason)
            return "cancelled"
    if outreach.kind in (Outreach.Kind.REMINDER, Outreach.Kind.INTAKE) and outreach.appointment_id:
        from booking.models import Appointment

        status, visit_starts = Appointment.objects.filter(pk=outreach.appointment_id).values_list(
            "status", "starts_at"
        ).first() or (None, None)
        if status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
            _finish(outreach, Outreach.State.CANCELLED, "visit no longer booked")
            return "cancelled"
        if visit_starts <= now:
            _finish(outreach, Outreach.State.SKIPPED, "the visit has started")
            return "skipped"
    refusal = _consent_refuses(outreach)
    if refusal:
        _finish(outreach, Outreach.State.SKIPPED, refusal)
        return "skipped"
    if outreach.automated and outreach.channel != Channel.EMAIL:
        practice = outreach.practice
        zone = patient_zone(phone=outreach.phone, location_zone=(outreach.location or practice).zone)
        allowed = next_allowed(
            now, zone=zone, quiet_start=practice.quiet_hours_start, quiet_end=practice.quiet_hours_end
        )
        if allowed > now and visit_starts is not None and allowed >= visit_starts:
            # An early visit's 2-hour reminder would wait past the start: the 48-hour one has to do.
            _finish(outreach, Outreach.State.SKIPPED, "quiet hours last until the visit")
            return "skipped"
        if allowed > now:
            _finish(outreach, Outreach.State.PENDING, "waiting out quiet hours", due_at=allowed)
            return "deferred"

    conversation = _conversation_for(outreach)
    body = _body_for(outreach, conversation)
    message = Message.objects.create(
        practice_id=outreach.practice_id,
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        channel=outreach.channel,
        sender=Message.Sender.STAFF if outreach.sent_by_id else Message.Sender.RECEPTIONIST,
        kind=outreach.purpose or outreach.template_key or outreach.kind,
        body=body,
        sent_by=outreach.sent_by,
    )
    outbound = Outbound(
        message_id=message.pk,
        channel=outreach.channel,
        to=outreach.email if outreach.channel == Channel.EMAIL else outreach.phone,
        from_=settings.DEFAULT_FROM_EMAIL if outreach.channel == Channel.EMAIL else conversation.practice_number,
        body=body,
        subject=outreach.practice.brand_name,
    )
    try:
        sent = get_backend().send(outbound)
    except SendError as exc:
        return _send_failed(outreach, message, exc)
    # Stamped when the provider has it: what "texted back in a second" measures.
    sent_at = timezone.now()
    Message.objects.filter(pk=message.pk).update(provider_sid=sent.provider_sid, status=sent.status, sent_at=sent_at)
    Conversation.objects.filter(pk=conversation.pk).update(last_outbound_at=sent_at)
    _finish(outreach, Outreach.State.SENT, message=message, attempts=outreach.attempts + 1)
    logger.info("outreach %s sent as message %s", outreach.pk, message.pk)
    return "sent"


def _conversation_for(outreach: Outreach) -> Conversation:
    if outreach.conversation_id and outreach.conversation.channel == outreach.channel:
        conversation = outreach.conversation
        if not conversation.practice_number:
            conversation.practice_number = _practice_number(outreach)
            conversation.save(update_fields=["practice_number"])
        return conversation
    conversation, _ = Conversation.objects.get_or_create(
        practice_id=outreach.practice_id,
        phone=outreach.phone or outreach.email,
        channel=outreach.channel,
        defaults={
            "patient": outreach.patient,
            "location": outreach.location,
            "practice_number": _practice_number(outreach),
        },
    )
    return conversation


def _practice_number(outreach: Outreach) -> str:
    """The number a thread is texted from: the location's, else the practice's first."""
    practice_number = ""
    if outreach.location_id:
        number = outreach.location.phone_numbers.filter(is_active=True).order_by("pk").first()
        practice_number = number.number if number else ""
    if not practice_number:
        number = outreach.practice.phone_numbers.filter(is_active=True).order_by("pk").first()
        practice_number = number.number if number else ""
    return practice_number


def _send_failed(outreach: Outreach, message: Message, exc: SendError) -> str:
    Message.objects.filter(pk=message.pk).update(status="failed", error_code=exc.code)
    Outreach.objects.filter(pk=outreach.pk).update(message=message)
    attempts = outreach.attempts + 1
    logger.warning("outreach %s failed with code %s (attempt %s)", outreach.pk, exc.code or "-", attempts)
    if exc.opted_out:
        consent_record(
            practice=outreach.practice,
            phone=outreach.phone,
            kind=ConsentEvent.Kind.OPT_OUT,
            source=ConsentEvent.Source.CARRIER,
            evidence=f"Twilio {exc.code}",
            told="Carrier reports this number unsubscribed (STOP).",
        )
        _finish(outreach, Outreach.State.FAILED, "number opted out with the carrier", attempts=attempts)
        return "opted out"
    if exc.unreachable:
        _finish(outreach, Outreach.State.FAILED, f"unreachable ({exc.code})", attempts=attempts)
        staff_callback(outreach=outreach, reason=f"Texts can't reach this number ({_UNREACHABLE[exc.code]}).")
        return "unreachable"
    if exc.retryable and attempts < MAX_ATTEMPTS:
        backoff = timedelta(seconds=30 * 2 ** (attempts - 1))
        _finish(outreach, Outreach.State.PENDING, "retrying", attempts=attempts, due_at=timezone.now() + backoff)
        return "retry"
    _finish(outreach, Outreach.State.FAILED, str(exc), attempts=attempts)
    staff_callback(outreach=outreach, reason=f"A message could not be sent after {attempts} tries.")
    return "failed"


_UNREACHABLE = {"30003": "unreachable", "30005": "unknown number", "30006": "a landline"}


def _place_callback(outreach: Outreach, now) -> str:
    """An automated voice callback (calls/outreach/callback.py decides whether and when), placed through
    the backend to our own voice flow. Tried once: a call that failed half-way may have rung."""
    from django.urls import reverse

    from ..models import Call
    from ..outreach.callback import callback_call_start, callback_stop_reason, callback_when

    reason = callback_stop_reason(outreach)
    if reason:
        _finish(outreach, Outreach.State.CANCELLED, reason)
        return "cancelled"
    refusal = _consent_refuses(outreach)
    if refusal:
        _finish(outreach, Outreach.State.SKIPPED, refusal)
        return "skipped"
    when = callback_when(outreach, now=now)
    if when is None:
        _finish(outreach, Outreach.State.SKIPPED, "no allowed time within a day of the missed call")
        return "skipped"
    if when > now:
        _finish(outreach, Outreach.State.PENDING, "waiting for allowed hours", due_at=when)
        return "deferred"
    call = callback_call_start(outreach=outreach)
    if call is None:
        _finish(outreach, Outreach.State.FAILED, "an earlier try may have placed it")
        return "failed"
    placeholder = call.call_sid
    try:
        placed = get_backend().place_call(
            to=outreach.phone,
            from_=call.phone_number.number,
            url=f"{settings.PUBLIC_BASE_URL}{reverse('twilio-voice-callback')}?call={call.pk}",
            status_callback=f"{settings.PUBLIC_BASE_URL}{reverse('twilio-voice-status')}",
        )
    except SendError as exc:
        Call.objects.filter(pk=call.pk).update(status="failed")
        logger.warning("callback %s failed with code %s", outreach.pk, exc.code or "-")
        _finish(outreach, Outreach.State.FAILED, str(exc), attempts=outreach.attempts + 1)
        return "failed"
    # Our voice flow may already have stamped Twilio's CallSid (the patient answered quickly).
    Call.objects.filter(pk=call.pk, call_sid=placeholder).update(call_sid=placed.provider_sid)
    _finish(outreach, Outreach.State.SENT, attempts=outreach.attempts + 1)
    logger.info("callback %s placed as call %s", outreach.pk, call.pk)
    return "sent"


def staff_callback(*, outreach: Outreach, reason: str):
    """Put a callback in the front desk's queue, so a patient the system can't text still hears from us."""
    from booking.services import callback_request
    from practices.services import patient_get_or_create

    patient = outreach.patient or patient_get_or_create(practice=outreach.practice, phone=outreach.phone)[0]
    return callback_request(patient=patient, reason=reason)
