"""What staff must handle goes to staff, with a summary they can act on, through the real webhook."""

import pytest

from calls.models import Conversation, Message
from escalations.models import Escalation
from tests.calls.conftest import fixture
from tests.factories import PatientFactory, ServiceFactory, StaffMemberFactory

SMS = "/webhooks/twilio/sms/"


@pytest.fixture(autouse=True)
def menu(line):
    return ServiceFactory(practice=line.practice, name="Botox", slug="botox", synonyms=["tox", "wrinkle relaxer"])


def text(twilio, body, n=1):
    sid = f"SM{n:032d}"
    return twilio(SMS, fixture("sms_inbound", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid))


def test_an_emergency_gets_the_emergency_reply_and_an_urgent_escalation_with_the_exact_words(line, twilio, outbox):
    nurse = StaffMemberFactory(practice=line.practice, role="manager", phone="+19175550134")
    PatientFactory(practice=line.practice, phone="+16465550188", first_name="Olivia", is_returning=True)
    words = "not sure if its normal but my lip looks purple since the filler yesterday"
    text(twilio, words)
    escalation = Escalation.objects.get()
    assert (escalation.category, escalation.priority, escalation.status) == ("emergency", 0, "open")
    assert escalation.summary["exact_words"] == words
    assert escalation.summary["name"] == "Olivia Lee" and escalation.summary["phone"] == "+16465550188"
    assert escalation.summary["new_or_returning"] == "returning"
    assert "911" in escalation.summary["receptionist_said"] and escalation.summary["not_promised"]
    assert (escalation.sla_due_at - escalation.created_at).total_seconds() == 300
    to_patient = [sent for sent in outbox if sent.to == "+16465550188"]
    assert len(to_patient) == 1 and "911" in to_patient[0].body and "Glow Aesthetics" in to_patient[0].body
    to_staff = [sent for sent in outbox if sent.to == nurse.phone]
    assert len(to_staff) == 1 and "Emergency" in to_staff[0].body and words not in to_staff[0].body
    assert Message.objects.get(direction="inbound").intent == "emergency"


def test_asking_for_a_person_hands_over_and_silences_the_receptionist(line, twilio, outbox):
    text(twilio, "can I talk to someone please", n=1)
    conversation = Conversation.objects.get()
    assert conversation.state == "handed_off"
    assert Escalation.objects.get().category == "human_request"
    assert "team member" in outbox[-1].body or "A member of our team" in outbox[-1].body
    before = len(outbox)
    text(twilio, "do you have anything for botox next week?", n=2)
    assert len(outbox) == before  # the receptionist stays quiet until staff hand it back
    assert Message.objects.filter(direction="inbound").count() == 2


def test_a_clinical_question_becomes_a_staff_question_not_an_answer(line, twilio, outbox):
    text(twilio, "is it safe to get botox while breastfeeding?")
    escalation = Escalation.objects.get()
    assert escalation.category == "clinical" and escalation.summary["service_interest"] == "botox"
    assert "clinical team" in outbox[-1].body
    assert "safe" not in outbox[-1].body.lower()


def test_three_worried_texts_make_one_escalation_that_keeps_every_word(line, twilio, outbox):
    StaffMemberFactory(practice=line.practice, role="manager", phone="+19175550134")
    text(twilio, "my lip looks white after filler", n=1)
    text(twilio, "it's getting more purple now", n=2)
    escalation = Escalation.objects.get()
    assert (
        "my lip looks white" in escalation.summary["exact_words"] and "more purple" in escalation.summary["exact_words"]
    )
    assert len([sent for sent in outbox if sent.to == "+19175550134"]) == 1


def test_an_ordinary_question_is_stored_with_its_understanding(line, twilio, outbox):
    text(twilio, "do you have anything for botx next tuesday after 3?")
    message = Message.objects.get(direction="inbound")
    assert message.intent == "book"
    assert message.extracted["service"] == "botox" and message.extracted["times"]["earliest"] == "15:00"
    assert not Escalation.objects.exists()
    assert Message.objects.get(direction="outbound").body  # answered by the receptionist, not queued for staff
