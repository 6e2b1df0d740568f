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
