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


def receptionist_greeting(*, brand: str) -> str:
    """The receptionist answers: says what it is, asks how it can help, and listens."""
    response = VoiceResponse()
    gather = response.gather(
        input="speech",
        action=absolute("twilio-voice-gather"),
        method="POST",
        speech_timeout="auto",
        action_on_empty_result=True,
        language="en-US",
    )
    gather.say(
        f"Hi, thanks for calling {brand}. Sorry we couldn't get to the phone. I'm {brand}'s automated "
        "assistant, and I'm texting you now too. How can I help you today?",
        voice=VOICE,
    )
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


def goodbye_after_speech(*, brand: str, heard: bool) -> str:
    response = VoiceResponse()
    if heard:
        response.say(f"Thank you. I've passed that to the {brand} team, and we'll text you shortly.", voice=VOICE)
    else:
        response.say(f"No problem. We'll text you shortly. Thanks for calling {brand}.", voice=VOICE)
    response.hangup()
    return str(response)


MAX_TURNS = 8


def say_and_listen(text: str, *, turn: int) -> str:
    response = VoiceResponse()
    gather = response.gather(
        input="speech",
        action=f"{absolute('twilio-voice-gather')}?turn={turn}",
        method="POST",
        speech_timeout="auto",
        action_on_empty_result=True,
        language="en-US",
    )
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
