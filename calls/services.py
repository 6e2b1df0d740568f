"""Actions for calls and inbound messages. Each stores what arrived before acting on it."""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from booking.models import Appointment, FollowUpTask
from booking.services import callback_request
from practices.models import ConsentEvent, ContactConsent, Location, PhoneNumber
from practices.phones import InvalidPhoneNumber, normalize_phone
from practices.selectors import consent_status, patient_for_phone, phone_is_blocked
from practices.services import consent_record, patient_channel_learn, patient_get_or_create

from .media import IncomingMedia, media_acknowledge, media_store
from .messaging.services import outreach_to_patient
from .models import Call, Channel, Conversation, Message, Outreach
from .outreach.cadence import cadence_stop
from .outreach.text_back import text_back_for_missed_call
from .patient_links import identity_claim_receive
from .receptionist.consent import ConsentIntent, consent_intent
from .receptionist.context import understand_for_practice
from .receptionist.dialogue import respond
from .receptionist.handoff import hand_off

logger = logging.getLogger(__name__)

MISSED_DIAL_STATUSES = {"no-answer": "no_answer", "busy": "busy", "failed": "failed", "canceled": "canceled"}
CALL_STATUS_RANK = {
    "queued": 0,
    "initiated": 0,
    "ringing": 1,
    "in-progress": 2,
    "completed": 3,
    "busy": 3,
    "failed": 3,
    "no-answer": 3,
    "canceled": 3,
}


def phone_number_for(to: str) -> PhoneNumber | None:
    """Our number that was called or texted; None when it belongs to no practice."""
    try:
        number = normalize_phone(to)
    except InvalidPhoneNumber:
        return None
    return PhoneNumber.objects.select_related("practice", "location").filter(number=number, is_active=True).first()


def _e164_or_blank(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        return ""


@transaction.atomic
def call_receive(*, number: PhoneNumber, call_sid: str, from_raw: str, status: str) -> tuple[Call, bool]:
    """Record an incoming call once per CallSid."""
    from_phone = _e164_or_blank(from_raw)
    patient = patient_for_phone(practice=number.practice_id, phone=from_phone)
    return Call.objects.get_or_create(
        call_sid=call_sid,
        defaults={
            "practice_id": number.practice_id,
            "location": number.location,
            "phone_number": number,
            "campaign_id": number.campaign_id,
            "from_raw": from_raw[:40],
            "from_phone": from_phone,
            "patient": patient,
            "status": status or "ringing",
        },
    )


@transaction.atomic
def call_mark_missed(*, call: Call, reason: str) -> bool:
    """Mark a call missed with its reason and queue the text-back; only the first report counts."""
    now = timezone.now()
    changed = Call.objects.filter(pk=call.pk, missed=False, accepted_by_staff=False).update(
        missed=True, missed_reason=reason, missed_at=now, answered_by=Call.AnsweredBy.RECEPTIONIST
    )
    if not changed:
        return False
    # Decided here and queued on commit: measured faster end to end in a burst than deciding in the
    # task (benchmarks/README.md), at the cost of some milliseconds in the webhook.
    call.refresh_from_db()
    text_back_for_missed_call(call=call)
    return True


@transaction.atomic
def call_record_dial_result(*, call: Call, dial_status: str, dial_call_sid: str) -> bool:
    """Record how ringing the front desk went. Returns True when the call was missed.

    With screening, staff accept by pressing 1; a "completed" dial nobody accepted was answered by
    the desk phone's voicemail, which is a missed call too.
    """
    Call.objects.filter(pk=call.pk).update(dial_status=dial_status[:20], dial_call_sid=dial_call_sid[:64])
    call.refresh_from_db()
    # Where the receptionist covers only after hours, a call the desk missed is the desk's to return.
    after_hours_only = call.location.coverage_mode == Location.Coverage.AFTER_HOURS
    mark_missed = call_mark_missed_for_callback if after_hours_only else call_mark_missed
    if dial_status in MISSED_DIAL_STATUSES:
        mark_missed(call=call, reason=MISSED_DIAL_STATUSES[dial_status])
        return True
    if call.accepted_by_staff:
        Call.objects.filter(pk=call.pk).update(answered_by=Call.AnsweredBy.STAFF)
        return False
    mark_missed(call=call, reason=Call.MissedReason.NOT_ACCEPTED)
    return True


@transaction.atomic
def call_mark_missed_for_callback(*, call: Call, reason: str) -> bool:
    """A call the desk missed in business hours at a location the receptionist covers only after hours:
    missed, answered by nobody, no text-back; a callback goes in the staff queue (not for a withheld
    number, which can't be called, nor a blocked one). Only the first report counts."""
    changed = Call.objects.filter(pk=call.pk, missed=False, accepted_by_staff=False).update(
        missed=True, missed_reason=reason, missed_at=timezone.now(), answered_by=Call.AnsweredBy.NOBODY
    )
    if not changed or not call.from_phone or phone_is_blocked(practice=call.practice, phone=call.from_phone):
        return bool(changed)
    patient = call.patient or patient_get_or_create(practice=call.practice, phone=call.from_phone)[0]
    why = Call.MissedReason(reason).label.lower()
    callback_request(patient=patient, reason=f"Missed call while open ({why}): call them back.", once=True)
    return True


def call_answer_by_receptionist(*, call: Call) -> bool:
    """Where the receptionist answers every call first: answered, not missed, so no text-back."""
    return bool(
        Call.objects.filter(pk=call.pk, missed=False, answered_by=Call.AnsweredBy.NOBODY).update(
            answered_by=Call.AnsweredBy.RECEPTIONIST
        )
    )


def call_accept_by_staff(*, parent_call_sid: str, dial_call_sid: str) -> bool:
    """Staff pressed 1 on the screened leg: the call is theirs, not missed."""
    return bool(
        Call.objects.filter(call_sid=parent_call_sid, missed=False).update(
            accepted_by_staff=True, dial_call_sid=dial_call_sid[:64], answered_by=Call.AnsweredBy.STAFF
        )
    )


def call_update_status(*, call_sid: str, status: str, duration: int | None) -> bool:
    """A status callback moves the call forward only; out-of-order ones change nothing."""
    call = Call.objects.filter(call_sid=call_sid).first()
    if call is None:
        return False
    if CALL_STATUS_RANK.get(status, -1) <= CALL_STATUS_RANK.get(call.status, -1):
        return False
    fields = {"status": status}
    if duration is not None:
        fields["duration_seconds"] = duration
    return bool(Call.objects.filter(pk=call.pk, status=call.status).update(**fields))


@dataclass(frozen=True)
class Received:
    message: Message
    created: bool


@transaction.atomic
def message_receive(
    *,
    number: PhoneNumber,
    message_sid: str,
    from_raw: str,
    body: str,
    channel: str,
    num_media: int = 0,
    media: Sequence[IncomingMedia] = (),
    process: bool = True,
) -> Received:
    """Store an inbound message once per MessageSid, in its conversation, before anything acts on it.
    Its pictures (`media`) are stored with it, in the same transaction, and fetched by a task.

    The processing is queued after commit, and only by the delivery that stored it: a repeated
    delivery (one after the other, or at the same moment) finds the row and does nothing more.
    """
    existing = Message.objects.filter(provider_sid=message_sid).first()
    if existing:
        return Received(existing, False)
    phone = normalize_phone(from_raw)
    patient = patient_for_phone(practice=number.practice_id, phone=phone)
    conversation, _ = Conversation.objects.get_or_create(
        practice_id=number.practice_id,
        phone=phone,
        channel=channel,
        defaults={"patient": patient, "location": number.location, "practice_number": number.number},
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                practice_id=number.practice_id,
                conversation=conversation,
                direction=Message.Direction.INBOUND,
                channel=channel,
                sender=Message.Sender.PATIENT,
                body=body,
                provider_sid=message_sid,
                status="received",
                num_media=len(media) or num_media,
                created_at=now,
            )
    except IntegrityError:
        return Received(Message.objects.get(provider_sid=message_sid), False)
    media_store(message=message, media=media)
    Conversation.objects.filter(pk=conversation.pk).update(last_inbound_at=now)
    if process:
        transaction.on_commit(lambda: _dispatch_inbound(message.pk))
    logger.info("inbound message %s stored", message.pk)
    return Received(message, True)


def _dispatch_inbound(message_id: int) -> None:
    from django_q.tasks import async_task

    async_task("calls.tasks.inbound_process", message_id, task_name=f"inbound-{message_id}")


def _reply(
    message: Message, *, template_key: str = "", body: str = "", kind=Outreach.Kind.REPLY, purpose: str = ""
) -> Outreach:
    return outreach_to_patient(
        conversation=message.conversation, kind=kind, template_key=template_key, body=body, purpose=purpose
    )


@transaction.atomic
def inbound_process(*, message_id: int) -> str:
    """Act on a stored inbound message, once: consent words first, then the receptionist."""
    claimed = Message.objects.filter(pk=message_id, processed_at__isnull=True).update(processed_at=timezone.now())
    if not claimed:
        return "already processed"
    message = Message.objects.select_related("conversation", "practice", "conversation__patient").get(pk=message_id)
    conversation = message.conversation
    practice = message.practice
    intent = consent_intent(message.body)
    if intent == ConsentIntent.OPT_OUT:
        Message.objects.filter(pk=message.pk).update(intent="opt_out")
        if consent_status(practice=practice, phone=conversation.phone) == ContactConsent.Status.OPTED_OUT:
            return "already opted out"  # exactly one confirmation, then silence
        told = _confirmation_text(practice, "opt_out_confirmation")
        consent_record(
            practice=practice,
            phone=conversation.phone,
            kind=ConsentEvent.Kind.OPT_OUT,
            source=_consent_source(message.body),
            told=told,
            evidence=message.provider_sid or "",
        )
        cadence_stop(practice_id=practice.pk, phone=conversation.phone, reason="patient opted out")
        Outreach.objects.filter(practice=practice, phone=conversation.phone, state=Outreach.State.PENDING).update(
            state=Outreach.State.CANCELLED, state_reason="patient opted out"
        )
        _reply(message, template_key="opt_out_confirmation", kind=Outreach.Kind.CONSENT)
        return "opted out"
    opted_out = consent_status(practice=practice, phone=conversation.phone) == ContactConsent.Status.OPTED_OUT
    if intent == ConsentIntent.OPT_IN and opted_out:
        Message.objects.filter(pk=message.pk).update(intent="opt_in")
        consent_record(
            practice=practice,
            phone=conversation.phone,
            kind=ConsentEvent.Kind.OPT_IN,
            source=ConsentEvent.Source.SMS_KEYWORD,
            told=_confirmation_text(practice, "opt_in_confirmation"),
            evidence=message.provider_sid or "",
        )
        _reply(message, template_key="opt_in_confirmation", kind=Outreach.Kind.CONSENT)
        return "opted in"
    if intent == ConsentIntent.HELP:
        Message.objects.filter(pk=message.pk).update(intent="help")
        _reply(message, template_key="help_reply", kind=Outreach.Kind.CONSENT)
        return "help"
    if opted_out:
        return "opted out: stored, not answered"
    if conversation.channel == Channel.WHATSAPP:
        consent, _ = ContactConsent.objects.get_or_create(practice=practice, phone=conversation.phone)
        if not consent.whatsapp_opted_in:
            consent_record(
                practice=practice,
                phone=conversation.phone,
                kind=ConsentEvent.Kind.WHATSAPP_OPT_IN,
                source=ConsentEvent.Source.SMS_WORDING,
                told="",
                evidence=message.provider_sid or "",
            )
    cadence_stop(practice_id=practice.pk, phone=conversation.phone, reason="patient replied")
    if media_acknowledge(message=message):
        return "pictures without words: acknowledged"
    understanding = understand_for_practice(practice, message.body)
    Message.objects.filter(pk=message.pk).update(intent=understanding.intent, extracted=understanding.as_dict())
    if conversation.patient is None:
        patient, _ = patient_get_or_create(practice=practice, phone=conversation.phone)  # linked numbers too
        Conversation.objects.filter(pk=conversation.pk).update(patient=patient)
        conversation.patient = patient
    # The channel they answer on becomes their preferred one, unless they or staff chose one.
    patient_channel_learn(patient=conversation.patient, channel=conversation.channel)
    if understanding.escalation:
        escalation = hand_off(message=message, understanding=understanding)
        return f"handed off: {escalation.category}"
    if conversation.staff_has_it or conversation.state == Conversation.State.HANDED_OFF:
        return "staff has the conversation"
    if conversation.channel == Channel.VOICE:
        return "answered on the call"
    conversation.refresh_from_db()
    # A name and date of birth from a number we can't put a name to: staff confirm before any link.
    claimed = identity_claim_receive(conversation=conversation, message=message)
    if claimed and understanding.intent in ("greeting", "other"):
        _reply(message, body=f"{claimed} How can I help you today?")
        return "identity noted for staff"
    reply = respond(conversation=conversation, message=message, understanding=understanding)
    _reply(message, body=f"{claimed} {reply.text}" if claimed else reply.text, purpose=reply.purpose)
    return f"replied ({understanding.intent})"


@dataclass(frozen=True)
class VoiceTurn:
    say: str
    transfer: bool = False
    done: bool = False
    escalation_id: int | None = None


@transaction.atomic
def voice_turn(*, call: Call, speech: str) -> VoiceTurn:
    """One exchange on the phone: store what the caller said, then answer in the same request.

    The same understanding, escalation rules and dialogue as texts. A caller with an emergency or who
    asks for a person is put through to the front desk; a booking is confirmed by text too.
    """
    digest = hashlib.sha256(speech.encode()).hexdigest()[:16]
    received = message_receive(
        number=call.phone_number,
        message_sid=f"{call.call_sid}:speech:{digest}",
        from_raw=call.from_phone,
        body=speech,
        channel=Channel.VOICE,
        process=False,
    )
    message = Message.objects.select_related("conversation", "practice").get(pk=received.message.pk)
    Message.objects.filter(pk=message.pk).update(processed_at=timezone.now())
    conversation = message.conversation
    practice = message.practice
    if consent_intent(speech) == ConsentIntent.OPT_OUT:
        consent_record(
            practice=practice,
            phone=conversation.phone,
            kind=ConsentEvent.Kind.OPT_OUT,
            source=ConsentEvent.Source.VERBAL,
            told="We won't text you again.",
            evidence=call.call_sid,
        )
        cadence_stop(practice_id=practice.pk, phone=conversation.phone, reason="patient opted out")
        return VoiceTurn(say="Understood. We won't text you again. Thanks for calling.", done=True)
    cadence_stop(practice_id=practice.pk, phone=conversation.phone, reason="patient replied")
    understanding = understand_for_practice(practice, speech)
    Message.objects.filter(pk=message.pk).update(intent=understanding.intent, extracted=understanding.as_dict())
    if conversation.patient is None:
        patient, _ = patient_get_or_create(practice=practice, phone=conversation.phone)  # linked numbers too
        Conversation.objects.filter(pk=conversation.pk).update(patient=patient)
        conversation.patient = patient
    if understanding.escalation:
        escalation = hand_off(message=message, understanding=understanding)
        if escalation.category in ("emergency", "human_request"):
            intro = (
                "If you have trouble breathing or swallowing, hang up and call 911. "
                if escalation.category == "emergency"
                else ""
            )
            return VoiceTurn(
                say=f"{intro}I'm connecting you with our team now.", transfer=True, escalation_id=escalation.pk
            )
        return VoiceTurn(
            say=f"Thanks. I've passed that to our team at {practice.brand_name}, and someone will call "
            "you back shortly. Is there anything else, like booking a visit?"
        )
    conversation.refresh_from_db()
    reply = respond(
        conversation=conversation, message=message, understanding=understanding, source=Appointment.Source.VOICE
    )
    if conversation.state == Conversation.State.BOOKED or reply.done:
        outreach_to_patient(conversation=conversation, kind=Outreach.Kind.REPLY, body=reply.text)
        return VoiceTurn(
            say=f"{reply.text} I've texted you the details. Thanks for calling {practice.brand_name}!", done=True
        )
    return VoiceTurn(say=reply.text)


def _consent_source(body: str) -> str:
    from .receptionist.consent import OPT_OUT_KEYWORDS, _keyword

    return ConsentEvent.Source.SMS_KEYWORD if _keyword(body) in OPT_OUT_KEYWORDS else ConsentEvent.Source.SMS_WORDING


def _confirmation_text(practice, key: str) -> str:
    from practices.selectors import message_text

    return message_text(practice=practice, key=key)


@transaction.atomic
def message_status_update(*, message_sid: str, status: str, error_code: str = "") -> bool:
    """A status callback: forward only. A carrier opt-out (21610) records the opt-out; an unreachable
    number (30003, 30005, 30006) puts a callback in the staff queue, once."""
    from .messaging.backends import OPTED_OUT_CODES, UNREACHABLE_CODES

    message = (
        Message.objects.select_for_update()
        .select_related("conversation", "practice")
        .filter(provider_sid=message_sid)
        .first()
    )
    if message is None or not message.status_moves_to(status):
        return False
    Message.objects.filter(pk=message.pk).update(status=status, error_code=error_code[:10] or message.error_code)
    phone = message.conversation.phone
    if error_code in OPTED_OUT_CODES:
        consent_record(
            practice=message.practice,
            phone=phone,
            kind=ConsentEvent.Kind.OPT_OUT,
            source=ConsentEvent.Source.CARRIER,
            evidence=f"Twilio {error_code}",
            told="Carrier reports this number unsubscribed (STOP).",
        )
    elif error_code in UNREACHABLE_CODES:
        patient = message.conversation.patient or patient_get_or_create(practice=message.practice, phone=phone)[0]
        callback_request(patient=patient, reason=f"Texts can't reach this number (error {error_code}).", once=True)
    return True


@transaction.atomic
def priority_callback(*, call: Call, escalation_id=None) -> FollowUpTask:
    """A transfer nobody picked up: the caller goes to the top of the callback queue, due now."""
    patient = call.patient or patient_get_or_create(practice=call.practice, phone=call.from_phone)[0]
    return callback_request(
        patient=patient,
        reason=f"PRIORITY: transfer from the phone assistant not answered (escalation {escalation_id or '-'})",
        once=True,
    )


@transaction.atomic
def conversation_take_over(*, conversation: Conversation, user) -> Conversation:
    """Staff take the thread: the receptionist falls silent and the follow-up cadence stops."""
    Conversation.objects.filter(pk=conversation.pk).update(taken_over_by=user, state=Conversation.State.HANDED_OFF)
    cadence_stop(practice_id=conversation.practice_id, phone=conversation.phone, reason="staff took over")
    conversation.refresh_from_db()
    return conversation


@transaction.atomic
def conversation_hand_back(*, conversation: Conversation) -> Conversation:
    """Give the thread back to the receptionist, fresh: it starts from a greeting, not mid-question."""
    Conversation.objects.filter(pk=conversation.pk).update(
        taken_over_by=None, state=Conversation.State.GREETING, context={}
    )
    conversation.refresh_from_db()
    return conversation


class EmptyReply(ValueError):
    pass


@transaction.atomic
def staff_reply(*, conversation: Conversation, user, body: str) -> Outreach:
    """A staff member's reply, through the messaging layer: consent and quiet hours still apply
    (a reply written at 11 pm waits for 8 am), and the receptionist stays quiet in this thread."""
    body = body.strip()
    if not body:
        raise EmptyReply("Write a reply first.")
    if conversation.taken_over_by_id is None:
        conversation = conversation_take_over(conversation=conversation, user=user)
    return outreach_to_patient(
        conversation=conversation, kind=Outreach.Kind.STAFF_REPLY, body=body[:1600], automated=True, sent_by=user
    )
