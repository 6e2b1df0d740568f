from django.urls import path

from . import simulator
from .twilio import views

# Twilio is configured with these paths: keep them stable.
urlpatterns = [
    path("webhooks/twilio/voice/", views.voice_incoming, name="twilio-voice"),
    path("webhooks/twilio/voice/dial-status/", views.voice_dial_status, name="twilio-voice-dial-status"),
    path("webhooks/twilio/voice/screen/", views.voice_screen, name="twilio-voice-screen"),
    path("webhooks/twilio/voice/screen/accept/", views.voice_screen_accept, name="twilio-voice-screen-accept"),
    path("webhooks/twilio/voice/gather/", views.voice_gather, name="twilio-voice-gather"),
    path("webhooks/twilio/voice/status/", views.voice_status, name="twilio-voice-status"),
    path("webhooks/twilio/voice/whisper/", views.voice_whisper, name="twilio-voice-whisper"),
    path("webhooks/twilio/voice/callback/", views.voice_callback, name="twilio-voice-callback"),
    path("webhooks/twilio/voice/transfer-result/", views.voice_transfer_result, name="twilio-voice-transfer-result"),
    path("webhooks/twilio/sms/", views.sms_inbound, name="twilio-sms"),
    path("webhooks/twilio/sms/status/", views.sms_status, name="twilio-sms-status"),
    # The demo's patient phone (demo mode only).
    path("simulator/", simulator.simulator, name="simulator"),
    path("simulator/call/", simulator.simulator_call, name="simulator-call"),
    path("simulator/text/", simulator.simulator_text, name="simulator-text"),
]
