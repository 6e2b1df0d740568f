"""The retention purge: old conversations lose their contents, recent ones keep them, audit stays."""

from datetime import timedelta

from django.utils import timezone
from django_q.tasks import async_task

from calls.models import Call, Conversation, Message, Outreach
from calls.retention import retention_purge
from escalations.models import Escalation
from escalations.services import escalation_open, escalation_resolve
from practices.models import AuditEvent, ConsentEvent
from tests.factories import ConsentEventFactory, PatientFactory, UserFactory


def thread(practice, phone, when, body):
    conversation = Conversation.objects.create(
        practice=practice, phone=phone, channel="sms", created_at=when, last_inbound_at=when
    )
    Message.objects.create(
        practice=practice,
        conversation=conversation,
        direction="inbound",
        channel="sms",
        sender="patient",
        body=body,
        extracted={"service": "botox"},
        created_at=when,
    )
    Outreach.objects.create(
        practice=practice, kind="reply", phone=phone, body=f"Re: {body}", conversation=conversation, created_at=when
    )
    return conversation


def test_old_conversations_are_erased_recent_ones_kept_and_a_second_run_does_nothing(line):
    practice = line.practice
    practice.retention_days = 365
    practice.save()
    now = timezone.now()
    old_when, new_when = now - timedelta(days=400), now - timedelta(days=10)
    patient = PatientFactory(practice=practice, phone="+16465550101")
    old = thread(practice, "+16465550101", old_when, "my lip is swollen since my filler")
    new = thread(practice, "+16465550102", new_when, "botox next week?")
    Conversation.objects.filter(pk=old.pk).update(patient=patient, context={"glow": {"service": "lip-filler"}})
    Call.objects.create(
        practice=practice,
        location=line.location,
        phone_number=line,
        call_sid="CA" + "1" * 32,
        from_raw="+16465550101",
        from_phone="+16465550101",
        started_at=old_when,
    )
    escalation, _ = escalation_open(
        practice=practice, category="clinical", conversation=old, summary={"exact_words": "my lip is swollen"}
    )
    escalation_resolve(escalation=escalation, user=UserFactory(), note="Called her back, all fine")
    Escalation.objects.filter(pk=escalation.pk).update(created_at=old_when)
    ConsentEventFactory(practice=practice, phone="+16465550101", occurred_at=old_when)
    AuditEvent.objects.create(username="riley", what="patient", method="GET", path="/x/", at=old_when)

    erased = retention_purge(practice=practice, now=now)
    assert erased == {"media": 0, "messages": 1, "outreach": 1, "calls": 1, "conversations": 1, "escalations": 1}

    old.refresh_from_db()
    assert (old.phone, old.context, old.patient) == (f"purged-{old.pk}", {}, None)
    old_message = Message.objects.get(conversation=old)
    assert (old_message.body, old_message.extracted, old_message.direction) == ("", {}, "inbound")
    assert Outreach.objects.get(conversation=old).body == ""
    assert Call.objects.get().from_phone == ""
    escalation.refresh_from_db()
    assert (escalation.summary, escalation.notes, escalation.resolution_note) == ({}, [], "")
    assert escalation.category == "clinical"
    assert all(row.summary == {} for row in escalation.history.all())  # its history forgets too
    # Recent conversations untouched; evidence kept.
    assert Message.objects.get(conversation=new).body == "botox next week?"
    assert Conversation.objects.get(pk=new.pk).phone == "+16465550102"
    assert ConsentEvent.objects.filter(phone="+16465550101").count() == 1
    assert AuditEvent.objects.filter(at=old_when).count() == 1

    assert retention_purge(practice=practice, now=now) == {
        "media": 0,
        "messages": 0,
        "outreach": 0,
        "calls": 0,
        "conversations": 0,
        "escalations": 0,
    }


def test_the_purge_runs_from_django_q(line):
    thread(line.practice, "+16465550103", timezone.now() - timedelta(days=4000), "old words")
    async_task("calls.tasks.retention_purge_all", sync=True)
    assert Message.objects.get().body == ""
