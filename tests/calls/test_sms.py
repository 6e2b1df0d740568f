"""Inbound texts: stored first, once per MessageSid, consent words before anything else."""

import threading

import pytest
from django.db import connection, connections

from booking.models import FollowUpTask
from calls.models import Conversation, Message, Outreach
from calls.receptionist.consent import consent_intent
from practices.models import ConsentEvent, ContactConsent, Patient
from tests.calls.conftest import fixture

SMS = "/webhooks/twilio/sms/"


def text(twilio, body, sid="SM9a8b7c6d5e4f3a2b1c9a8b7c6d5e4f3a", **overrides):
    return twilio(SMS, fixture("sms_inbound", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, **overrides))


def sid(n: int) -> str:
    return f"SM{n:032d}"


def test_an_inbound_text_is_stored_in_its_conversation_and_answered(line, twilio, outbox):
    response = text(twilio, "Hi! Do you have anything for botox next week?")
    assert response.status_code == 200
    assert response.content.decode().strip().endswith("<Response />")
    message = Message.objects.get(direction="inbound")
    assert (message.body, message.channel, message.conversation.phone) == (
        "Hi! Do you have anything for botox next week?",
        "sms",
        "+16465550188",
    )
    assert message.processed_at is not None
    assert Patient.objects.get(phone="+16465550188").practice == line.practice
    assert len(outbox) == 1 and "Glow Aesthetics" in outbox[0].body and "STOP" in outbox[0].body
    assert message.intent == "book"


def test_the_same_text_delivered_twice_is_one_row_and_one_reply(line, twilio, outbox):
    text(twilio, "Hello?")
    text(twilio, "Hello?")
    assert Message.objects.filter(direction="inbound").count() == 1
    assert len(outbox) == 1


def test_the_same_text_delivered_concurrently_is_one_row_and_one_reply(line, twilio, outbox, transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent connections")
    barrier = threading.Barrier(6)
    codes = []

    def deliver():
        try:
            barrier.wait()
            codes.append(text(twilio, "Is Saturday open?").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert codes == [200] * 6
    assert Message.objects.filter(direction="inbound").count() == 1
    assert Message.objects.filter(direction="outbound").count() == 1
    assert len(outbox) == 1


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        "stop",
        "Stop.",
        " STOP!! ",
        "StopAll",
        "UNSUBSCRIBE",
        "cancel",
        "End",
        "QUIT",
        "revoke",
        "OPTOUT",
        "opt-out",
        "Opt out",
        "please stop texting me",
        "Stop texting me!",
        "pls stop messaging me",
        "unsubscribe me",
        "Don't text me again",
        "remove me from your list",
        "no more texts please",
    ],
)
def test_opt_out_words_opt_out_with_exactly_one_confirmation(line, twilio, outbox, body):
    text(twilio, body, sid=sid(1))
    text(twilio, body, sid=sid(2))
    consent = ContactConsent.objects.get(practice=line.practice, phone="+16465550188")
    assert consent.status == "opted_out"
    assert [sent.body for sent in outbox] == [
        "Glow Aesthetics: you're unsubscribed and won't get more texts from us. Reply START to resubscribe."
    ]
    event = ConsentEvent.objects.get()
    assert event.kind == "opt_out" and event.told == outbox[0].body and event.evidence == sid(1)


@pytest.mark.parametrize(
    "body",
    [
        "can you stop by",
        "When can I stop by?",
        "What time do you stop taking appointments?",
        "I want to end my wrinkles",
        "Stop by Saturday?",
        "yes please book me",
        "I need help with my booking",
        "cancel my appointment",
    ],
)
def test_ordinary_words_are_not_an_opt_out(body):
    assert consent_intent(body) is None


def test_an_opted_out_number_is_never_texted_and_start_opts_back_in(line, twilio, outbox):
    text(twilio, "STOP", sid=sid(1))
    text(twilio, "Do you have openings Friday?", sid=sid(2))
    assert len(outbox) == 1
    assert Message.objects.filter(direction="inbound").count() == 2
    text(twilio, "START", sid=sid(3))
    assert ContactConsent.objects.get().status == "opted_in"
    assert outbox[-1].body.startswith("Glow Aesthetics: you're subscribed again")
    assert [event.kind for event in ConsentEvent.objects.order_by("id")] == ["opt_out", "opt_in"]


def test_yes_from_someone_who_never_opted_out_goes_to_the_receptionist(line, twilio, outbox):
    text(twilio, "Yes")
    assert not ConsentEvent.objects.exists()
    assert len(outbox) == 1 and "subscribed" not in outbox[0].body
    assert Message.objects.get(direction="inbound").intent == "confirm"


def test_help_answers_with_the_practice_contact_and_stop_wording(line, twilio, outbox):
    text(twilio, "HELP")
    assert len(outbox) == 1
    assert "Glow Aesthetics" in outbox[0].body and "+12125550143" in outbox[0].body and "STOP" in outbox[0].body


def test_an_opt_out_covers_every_number_of_the_practice(line, twilio, outbox):
    from tests.factories import PhoneNumberFactory

    PhoneNumberFactory(practice=line.practice, location=line.location, number="+12125550101")
    text(twilio, "STOP", sid=sid(1))
    text(twilio, "hello", sid=sid(2), To="+12125550101")
    assert len(outbox) == 1


@pytest.mark.parametrize(
    ("body", "stored"),
    [
        ("", ""),
        ("x" * 1600, "x" * 1600),
        ("Can I book 💉✨ lips? 😍", "Can I book 💉✨ lips? 😍"),
        ("hello\x00world", "helloworld"),
    ],
)
def test_odd_bodies_are_stored_whole(line, twilio, body, stored):
    assert text(twilio, body).status_code == 200
    assert Message.objects.get(direction="inbound").body == stored


def test_a_whatsapp_message_joins_its_own_thread_and_records_the_opt_in(line, twilio, outbox):
    twilio(SMS, fixture("whatsapp_inbound"))
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.phone) == ("whatsapp", "+16465550188")
    assert ContactConsent.objects.get().whatsapp_opted_in
    assert outbox[0].channel == "whatsapp"


def test_a_text_to_a_number_of_no_practice_is_dropped_politely(line, twilio, outbox):
    response = text(twilio, "hello", To="+19175550134")
    assert response.status_code == 200 and not Message.objects.exists() and outbox == []


@pytest.mark.parametrize(("field", "value"), [("From", ""), ("MessageSid", ""), ("NumMedia", "two"), ("From", "12345")])
def test_a_malformed_text_is_a_400_with_the_reason(line, twilio, field, value):
    params = fixture("sms_inbound", **{field: value})
    if field == "MessageSid":
        params.pop("SmsSid")
    response = twilio(SMS, params)
    assert response.status_code == 400
    assert field in response.content.decode() or "From" in response.content.decode()
    assert not Message.objects.exists()


def test_status_callbacks_move_a_message_forward_only(line, twilio, outbox):
    text(twilio, "hello")
    reply = Message.objects.get(direction="outbound")
    Message.objects.filter(pk=reply.pk).update(provider_sid="SM0000000000000000000000000000000a", status="sent")
    twilio("/webhooks/twilio/sms/status/", fixture("sms_status_delivered"))
    twilio("/webhooks/twilio/sms/status/", fixture("sms_status_delivered", MessageStatus="sent", SmsStatus="sent"))
    twilio("/webhooks/twilio/sms/status/", fixture("sms_status_delivered", MessageStatus="queued"))
    reply.refresh_from_db()
    assert reply.status == "delivered"


def test_an_undelivered_text_to_a_landline_tells_the_front_desk(line, twilio):
    text(twilio, "hello")
    Message.objects.filter(direction="outbound").update(
        provider_sid="SM0000000000000000000000000000000a", status="sent"
    )
    FollowUpTask.objects.all().delete()
    twilio("/webhooks/twilio/sms/status/", fixture("sms_status_undelivered_landline"))
    twilio("/webhooks/twilio/sms/status/", fixture("sms_status_undelivered_landline"))
    task = FollowUpTask.objects.get()
    assert task.kind == "callback" and "30006" in task.reason
    assert Message.objects.get(direction="outbound").error_code == "30006"


def test_a_status_callback_with_21610_records_the_opt_out(line, twilio):
    text(twilio, "hello")
    Message.objects.filter(direction="outbound").update(
        provider_sid="SM0000000000000000000000000000000a", status="sent"
    )
    twilio(
        "/webhooks/twilio/sms/status/",
        fixture("sms_status_undelivered_landline", ErrorCode="21610", MessageStatus="failed"),
    )
    assert ContactConsent.objects.get().status == "opted_out"
    assert ConsentEvent.objects.get().source == "carrier"


def test_a_reply_stops_the_follow_up_cadence(line, twilio, outbox, clock):
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    assert Outreach.objects.filter(kind="follow_up", state="pending").count() == 4
    text(twilio, "Botox please")
    assert set(Outreach.objects.filter(kind="follow_up").values_list("state", flat=True)) == {"cancelled"}
