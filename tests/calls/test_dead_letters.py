"""A text whose handling keeps failing is retried with growing waits, then handed to staff: never lost."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from booking.models import FollowUpTask
from calls.dead_letters import MAX_PROCESS_ATTEMPTS, inbound_retry_sweep
from calls.models import Conversation, Message
from tests.factories import PatientFactory, StaffMemberFactory


@pytest.fixture
def stuck(line, clock):
    patient = PatientFactory(practice=line.practice, phone="+16465550177", first_name="Noor")
    conversation = Conversation.objects.create(
        practice=line.practice, phone=patient.phone, channel="sms", patient=patient, practice_number=line.number
    )
    return Message.objects.create(
        practice=line.practice,
        conversation=conversation,
        direction="inbound",
        channel="sms",
        sender="patient",
        body="Can I book a HydraFacial on Friday?",
        created_at=timezone.now(),
    )


def test_retries_back_off_then_the_text_goes_to_staff_once(stuck, clock, client, line):
    with mock.patch("calls.services.consent_intent", side_effect=RuntimeError("understander crashed")):
        tries = []
        for _ in range(40):  # forty minutes of sweeps, one a minute
            inbound_retry_sweep()
            stuck.refresh_from_db()
            tries.append(stuck.process_attempts)
            clock.shift(timedelta(minutes=1))
    stuck.refresh_from_db()
    assert stuck.processed_at is None  # each failed try rolled back its claim
    assert stuck.process_attempts == MAX_PROCESS_ATTEMPTS
    # Tries 2, 4, 8, 16 and 32 minutes after the text arrived: waits that double, not one a minute.
    first_at = {count: tries.index(count) for count in range(1, MAX_PROCESS_ATTEMPTS + 1)}
    assert first_at == {1: 2, 2: 4, 3: 8, 4: 16, 5: 32}
    assert stuck.dead_lettered_at is not None
    callbacks = FollowUpTask.objects.filter(patient__phone="+16465550177", kind="callback")
    assert callbacks.count() == 1 and "couldn't handle their text" in callbacks.get().reason

    inbound_retry_sweep()  # nothing more happens to a dead letter
    assert FollowUpTask.objects.filter(patient__phone="+16465550177").count() == 1

    client.force_login(StaffMemberFactory(practice=line.practice).user)
    counts = client.get("/console/counts/").content.decode()
    assert 'data-count="problems"' in counts
    page = client.get("/console/problems/").content.decode()
    assert "Noor" in page and "Texts we could not handle" in page


def test_a_retry_that_succeeds_answers_the_patient_once(stuck, outbox, django_capture_on_commit_callbacks):
    Message.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    with mock.patch("calls.services.consent_intent", side_effect=RuntimeError("database hiccup")):
        inbound_retry_sweep()
    stuck.refresh_from_db()
    assert (stuck.process_attempts, stuck.processed_at) == (1, None)
    # Later: the sweep tries again (the wait has passed) and this time it works.
    Message.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert inbound_retry_sweep() == {"retried": 1, "dead_lettered": 0}
    stuck.refresh_from_db()
    assert stuck.processed_at is not None and len(outbox) == 1
    assert inbound_retry_sweep() == {"retried": 0, "dead_lettered": 0}


def test_a_background_job_that_failed_after_its_retries_is_shown_and_counted(line, client):
    from django_q.models import Failure

    Failure.objects.create(
        id="a" * 32,
        name="series-sweep-1",
        func="booking.tasks.series_sweep_all",
        args=(),
        kwargs={},
        result="OperationalError: could not connect to server",
        started=timezone.now() - timedelta(minutes=2),
        stopped=timezone.now() - timedelta(minutes=1),
        success=False,
        attempt_count=3,
    )
    client.force_login(StaffMemberFactory(practice=line.practice).user)
    assert 'data-count="problems"' in client.get("/console/counts/").content.decode()
    page = client.get("/console/problems/").content.decode()
    assert "Series cadence update" in page and "could not connect" in page
