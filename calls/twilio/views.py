"""Twilio webhooks. Thin: check, parse, store through a service, answer with TwiML."""

import logging

import phonenumbers
from django.http import HttpResponse
from django.utils import timezone

from escalations.models import Escalation
from escalations.routing import transfer_phone
from practices.models import Location
from practices.selectors import location_is_open

from .. import services
from ..media import MAX_MEDIA, IncomingMedia
from ..models import Call, Channel
from ..outreach.callback import MACHINE_ANSWERS, callback_answered
from . import twiml
from .security import BadPayload, required, twilio_webhook, whole_number

logger = logging.getLogger(__name__)


def _xml(document: str) -> HttpResponse:
    return HttpResponse(document, content_type="text/xml")


def _caller_first_name(call: Call) -> str:
    """A known caller's first name for the greeting; only that, as someone else may have their phone."""
    return call.patient.first_name if call.patient_id else ""


def _clean_text(text: str) -> str:
    # PostgreSQL text cannot hold NUL; nothing a patient means is lost by dropping it.
    return text.replace("\x00", "")


@twilio_webhook
def voice_incoming(request):
    call_sid, from_raw, to = required(request, "CallSid", "From", "To")
    number = services.phone_number_for(to)
    if number is None:
        logger.warning("incoming call to a number of no practice")
        return _xml(twiml.empty_voice())
    call, _ = services.call_receive(
        number=number, call_sid=call_sid, from_raw=from_raw, status=request.POST.get("CallStatus", "")
    )
    open_now = not call.missed and location_is_open(location=number.location, at=timezone.now())
    if open_now and number.location.coverage_mode == Location.Coverage.ALWAYS:
        # The receptionist answers first: an answered call, not a missed one (no apology, no text-back).
        services.call_answer_by_receptionist(call=call)
        return _xml(
            twiml.receptionist_greeting(
                brand=number.practice.brand_name, missed=False, first_name=_caller_first_name(call)
            )
        )
    if open_now:
        return _xml(twiml.dial_front_desk(forwards_to=number.forwards_to, ring_timeout=number.ring_timeout_seconds))
    services.call_mark_missed(call=call, reason=Call.MissedReason.AFTER_HOURS)
    return _xml(twiml.receptionist_greeting(brand=number.practice.brand_name, first_name=_caller_first_name(call)))


@twilio_webhook
def voice_dial_status(request):
    call_sid, dial_status = required(request, "CallSid", "DialCallStatus")
    call = Call.objects.select_related("practice", "location").filter(call_sid=call_sid).first()
    if call is None:
        return _xml(twiml.empty_voice())
    missed = services.call_record_dial_result(
        call=call, dial_status=dial_status, dial_call_sid=request.POST.get("DialCallSid", "")
    )
    if missed and call.location.coverage_mode == Location.Coverage.AFTER_HOURS:
        return _xml(twiml.call_back_later(brand=call.practice.brand_name, can_call_back=bool(call.from_phone)))
    if missed:
        return _xml(twiml.receptionist_greeting(brand=call.practice.brand_name, first_name=_caller_first_name(call)))
    return _xml(twiml.hang_up())


@twilio_webhook
def voice_screen(request):
    (parent_sid,) = required(request, "ParentCallSid")
    call = Call.objects.select_related("practice").filter(call_sid=parent_sid).first()
    if call is None:
        return _xml(twiml.hang_up())
    return _xml(twiml.screen_prompt(brand=call.practice.brand_name))


@twilio_webhook
def voice_screen_accept(request):
    parent_sid, child_sid = required(request, "ParentCallSid", "CallSid")
    if request.POST.get("Digits", "").strip() == "1" and services.call_accept_by_staff(
        parent_call_sid=parent_sid, dial_call_sid=child_sid
    ):
        return _xml(twiml.connect())
    return _xml(twiml.hang_up())


@twilio_webhook
def voice_gather(request):
    (call_sid,) = required(request, "CallSid")
    call = Call.objects.select_related("practice", "phone_number", "location").filter(call_sid=call_sid).first()
    if call is None:
        return _xml(twiml.empty_voice())
    speech = _clean_text(request.POST.get("SpeechResult", "")).strip()
    brand = call.practice.brand_name
    if not speech or not call.from_phone:
        return _xml(twiml.goodbye_after_speech(brand=brand, heard=bool(speech), texting=call.missed))
    turn_text = request.GET.get("turn", "0")
    turns = int(turn_text) if turn_text.isdigit() else 0  # how many exchanges so far on this call
    turn = services.voice_turn(call=call, speech=speech)
    if turn.transfer:
        return _xml(
            twiml.transfer_to_desk(
                say=turn.say,
                # The routed staff member's line when they are on duty, else the front desk.
                forwards_to=transfer_phone(escalation_id=turn.escalation_id, at=timezone.now())
                or call.phone_number.forwards_to,
                escalation_id=turn.escalation_id,
                ring_timeout=call.phone_number.ring_timeout_seconds,
            )
        )
    if turn.done or turns >= twiml.MAX_TURNS:
        return _xml(twiml.say_and_hang_up(turn.say))
    return _xml(twiml.say_and_listen(turn.say, turn=turns + 1))


@twilio_webhook
def voice_callback(request):
    """Twilio asks what to say on an automated callback it placed for us (calls/outreach/callback.py)."""
    (call_sid,) = required(request, "CallSid")
    answered_by = request.POST.get("AnsweredBy", "")
    call = callback_answered(call_pk=request.GET.get("call", ""), call_sid=call_sid, answered_by=answered_by)
    if call is None or answered_by == "fax":
        return _xml(twiml.hang_up())
    brand = call.practice.brand_name
    if answered_by in MACHINE_ANSWERS:
        number = phonenumbers.parse(call.phone_number.number)
        spoken = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return _xml(twiml.callback_voicemail(brand=brand, call_back_on=spoken))
    return _xml(twiml.callback_greeting(brand=brand))


@twilio_webhook
def voice_whisper(request):
    """Played to the staff member who picks up a transferred call, before the caller is connected."""
    escalation = Escalation.objects.select_related("patient").filter(pk=request.GET.get("escalation") or 0).first()
    return _xml(twiml.whisper(escalation))


@twilio_webhook
def voice_transfer_result(request):
    """The desk did not take a transferred call: the caller gets a priority callback."""
    (call_sid,) = required(request, "CallSid")
    dial_status = request.POST.get("DialCallStatus", "")
    call = Call.objects.select_related("practice").filter(call_sid=call_sid).first()
    if call is None or dial_status in ("completed", "answered"):
        return _xml(twiml.hang_up())
    services.priority_callback(call=call, escalation_id=request.GET.get("escalation"))
    return _xml(
        twiml.say_and_hang_up(
            f"Sorry, our team couldn't pick up. You're first on our callback list at {call.practice.brand_name}."
        )
    )


@twilio_webhook
def voice_status(request):
    call_sid, status = required(request, "CallSid", "CallStatus")
    services.call_update_status(call_sid=call_sid, status=status, duration=whole_number(request, "CallDuration"))
    return HttpResponse(status=204)


def _media(request) -> list[IncomingMedia]:
    """The pictures of an MMS: MediaUrlN and MediaContentTypeN for N below NumMedia (at most 10, like Twilio)."""
    count = min(whole_number(request, "NumMedia", default=0), MAX_MEDIA)
    media = []
    for index in range(count):
        url = request.POST.get(f"MediaUrl{index}", "").strip()
        content_type = request.POST.get(f"MediaContentType{index}", "").split(";")[0].strip().lower()
        if not url or not content_type:
            raise BadPayload(f"MediaUrl{index} and MediaContentType{index} are required (NumMedia is {count}).")
        if not url.startswith("https://") or len(url) > 500:
            raise BadPayload(f"MediaUrl{index} must be an https address of at most 500 characters.")
        media.append(IncomingMedia(url=url, content_type=content_type[:100]))
    return media


@twilio_webhook
def sms_inbound(request):
    message_sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    if not message_sid.strip():
        raise BadPayload("MessageSid is required.")
    from_raw, to = required(request, "From", "To")
    channel = Channel.WHATSAPP if from_raw.lower().startswith("whatsapp:") else Channel.SMS
    media = _media(request)
    number = services.phone_number_for(to)
    if number is None:
        logger.warning("inbound message to a number of no practice")
        return _xml(twiml.empty_messaging())
    try:
        services.message_receive(
            number=number,
            message_sid=message_sid.strip(),
            from_raw=from_raw,
            body=_clean_text(request.POST.get("Body", "")),
            channel=channel,
            media=media,
        )
    except services.InvalidPhoneNumber:
        raise BadPayload("From is not a phone number.") from None
    return _xml(twiml.empty_messaging())


@twilio_webhook
def sms_status(request):
    message_sid, status = required(request, "MessageSid", "MessageStatus")
    services.message_status_update(
        message_sid=message_sid, status=status, error_code=request.POST.get("ErrorCode", "").strip()
    )
    return HttpResponse(status=204)
