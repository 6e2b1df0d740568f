"""TwiML documents, built with the twilio library."""

from django.conf import settings
from django.urls import reverse
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

VOICE = "Polly.Joanna"


def absolute(name: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse(name)}"


def empty_voice() -> str:
    return str(VoiceResponse())


def empty_messaging() -> str:
    return str(MessagingResponse())


def dial_front_desk(*, forwards_to: str, ring_timeout: int) -> str:
    """Ring the front desk; the screen on the staff leg tells a person from a voicemail."""
    response = VoiceResponse()
    dial = response.dial(
        action=absolute("twilio-voice-dial-status"), method="POST", timeout=ring_timeout, answer_on_bridge=True
    )
    dial.number(forwards_to, url=absolute("twilio-voice-screen"), method="POST")
    return str(response)


def unavailable_voice() -> str:
    """When we cannot reach our records: a polite promise, and nothing that needs the database."""
    response = VoiceResponse()
    response.say(
        "Thanks for calling. We're sorry, we can't take your call right now. We have your number and "
        "will call you back shortly. Goodbye.",
        voice=VOICE,
    )
    response.hangup()
    return str(response)


def _listen(response: VoiceResponse, action: str):
    """A speech gather that posts what the caller said (or that they said nothing) to `action`."""
    return response.gather(
        input="speech",
        action=action,
        method="POST",
        speech_timeout="auto",
        action_on_empty_result=True,
        language="en-US",
    )


def receptionist_greeting(*, brand: str, missed: bool = True, first_name: str = "") -> str:
    """The receptionist answers: says what it is, asks how it can help, and listens. On a missed call it
    says sorry and that the text-back is on its way; answering first (coverage "always") it does not.

    A known caller hears their first name and nothing else of their records before they speak: someone
    else may have the phone."""
    response = VoiceResponse()
    gather = _listen(response, absolute("twilio-voice-gather"))
    sorry, texting = ("Sorry we couldn't get to the phone. ", ", and I'm texting you now too") if missed else ("", "")
    hello = f"Hi {first_name}" if first_name else "Hi"
    gather.say(
        f"{hello}, thanks for calling {brand}. {sorry}I'm {brand}'s automated assistant{texting}. How can I help "
        "you today?",
        voice=VOICE,
    )
    return str(response)


def callback_greeting(*, brand: str) -> str:
    """Our automated callback, answered by a person: says what it is and why it calls, then listens
    exactly like the receptionist on an incoming call."""
    response = VoiceResponse()
    gather = _listen(response, absolute("twilio-voice-gather"))
    gather.say(
        f"Hi, this is the automated assistant for {brand}, calling back about your call earlier. Sorry we "
        "missed you. I can answer questions or book a visit. How can I help you today?",
        voice=VOICE,
    )
    return str(response)


def callback_voicemail(*, brand: str, call_back_on: str) -> str:
    """Our automated callback, answered by voicemail: a short message that says nothing about the
    patient (anyone may play it back), then hang up."""
    response = VoiceResponse()
    response.say(
        f"Hi, this is the automated assistant for {brand}, returning your call from earlier. Reply to our "
        f"text, or call us back at {call_back_on}, whenever suits you. Goodbye.",
        voice=VOICE,
    )
    response.hangup()
    return str(response)


def call_back_later(*, brand: str, can_call_back: bool) -> str:
    """The desk missed a call where the receptionist covers only after hours: a short, polite message
    (the call is in the staff's callback queue), then hang up."""
    response = VoiceResponse()
    then = "We'll call you back as soon as we can." if can_call_back else "Please call us again in a little while."
    response.say(
        f"Thanks for calling {brand}. Sorry, our team can't get to the phone right now. {then} Goodbye.", voice=VOICE
    )
    response.hangup()
    return str(response)


def screen_prompt(*, brand: str) -> str:
    """Played to whoever picks up the front-desk line: a person presses 1, a voicemail cannot."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1, timeout=6, action=absolute("twilio-voice-screen-accept"), method="POST", input="dtmf"
    )
    gather.say(f"Call for {brand}. Press 1 to take it.", voice=VOICE)
    response.hangup()
    return str(response)


def connect() -> str:
    return str(VoiceResponse())


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def goodbye_after_speech(*, brand: str, heard: bool, texting: bool = True) -> str:
    """`texting`: a text-back is on its way (a missed call), so the goodbye may promise it."""
    response = VoiceResponse()
    if heard:
        then = ", and we'll text you shortly" if texting else ""
        response.say(f"Thank you. I've passed that to the {brand} team{then}.", voice=VOICE)
    else:
        then = "We'll text you shortly. " if texting else ""
        response.say(f"No problem. {then}Thanks for calling {brand}.", voice=VOICE)
    response.hangup()
    return str(response)


MAX_TURNS = 8


def say_and_listen(text: str, *, turn: int) -> str:
    response = VoiceResponse()
    gather = _listen(response, f"{absolute('twilio-voice-gather')}?turn={turn}")
    gather.say(text, voice=VOICE)
    return str(response)


def say_and_hang_up(text: str) -> str:
    response = VoiceResponse()
    response.say(text, voice=VOICE)
    response.hangup()
    return str(response)


def transfer_to_desk(*, say: str, forwards_to: str, escalation_id: int | None, ring_timeout: int) -> str:
    """Put the caller through; whoever answers first hears a one-line summary (the whisper)."""
    suffix = f"?escalation={escalation_id}" if escalation_id else ""
    response = VoiceResponse()
    response.say(say, voice=VOICE)
    dial = response.dial(
        action=f"{absolute('twilio-voice-transfer-result')}{suffix}",
        method="POST",
        timeout=ring_timeout,
        answer_on_bridge=True,
    )
    dial.number(forwards_to, url=f"{absolute('twilio-voice-whisper')}{suffix}", method="POST")
    return str(response)


def whisper(escalation) -> str:
    response = VoiceResponse()
    if escalation is None:
        response.say("Transferred call from the assistant.", voice=VOICE)
        return str(response)
    name = escalation.patient.first_name if escalation.patient and escalation.patient.first_name else "a caller"
    service = escalation.summary.get("service_interest") or ""
    about = f" about {service.replace('-', ' ')}" if service else ""
    response.say(f"{escalation.get_category_display()} from {name}{about}. Connecting now.", voice=VOICE)
    return str(response)
