"""The demo practice's six weeks of history: what seed_demo leaves for the analytics pages to show.

The seed is slow enough (seconds) that the module seeds once, inside a transaction rolled back at the
end; each test runs in its own savepoint inside it.
"""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction

from booking.models import ACTIVE_STATUSES, Appointment
from calls.messaging.quiet_hours import next_allowed, patient_zone
from calls.models import Call, Conversation, Message, Outreach
from escalations.models import Escalation
from practices.models import Practice
from practices.selectors import location_is_open


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("seed_demo", stdout=open("/dev/null", "w"))
            yield Practice.objects.get(slug="demo")
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def practice(demo, db):
    return demo


def test_there_are_calls_on_at_least_35_local_days(practice):
    calls = Call.objects.filter(practice=practice).select_related("location")
    days = {call.started_at.astimezone(call.location.zone).date() for call in calls}
    assert len(days) >= 35
    assert calls.count() >= 25 * 35


def test_the_desk_misses_some_calls_and_every_after_hours_call_is_missed(practice):
    calls = list(Call.objects.filter(practice=practice).select_related("location"))
    reasons = {call.missed_reason for call in calls if call.missed}
    assert {Call.MissedReason.NO_ANSWER, Call.MissedReason.AFTER_HOURS} <= reasons
    for call in calls:
        is_open = location_is_open(location=call.location, at=call.started_at)
        assert (call.missed_reason == Call.MissedReason.AFTER_HOURS) == (not is_open), call.started_at
        assert call.missed == (call.missed_at is not None)
        if call.missed:
            assert call.missed_at > call.started_at
        else:
            assert call.accepted_by_staff and call.answered_by == Call.AnsweredBy.STAFF and call.duration_seconds
    missed = sum(call.missed for call in calls)
    assert 0.25 < missed / len(calls) < 0.45


def test_text_backs_go_out_within_seconds_except_after_quiet_hours(practice):
    text_backs = Outreach.objects.filter(practice=practice, kind=Outreach.Kind.TEXT_BACK).select_related(
        "call__location", "message"
    )
    sent = [outreach for outreach in text_backs if outreach.state == Outreach.State.SENT]
    assert len(sent) > 100
    deferred = 0
    quiet = {"quiet_start": practice.quiet_hours_start, "quiet_end": practice.quiet_hours_end}
    for outreach in sent:
        call, message = outreach.call, outreach.message
        zone = patient_zone(phone=call.from_phone, location_zone=call.location.zone)
        # Quiet hours as the text-back saw them, in the seconds after the miss.
        moments = [call.missed_at, call.missed_at + timedelta(seconds=10)]
        ends = [next_allowed(moment, zone=zone, **quiet) for moment in moments]
        held = [end for end, moment in zip(ends, moments, strict=True) if end != moment]
        right_away = 1 <= (message.sent_at - call.missed_at).total_seconds() <= 60
        after_quiet_hours = any(end <= message.sent_at < end + timedelta(minutes=2) for end in held)
        if not held:
            assert right_away
        elif len(held) == len(moments):
            assert after_quiet_hours
            deferred += 1
        else:  # on the very edge of quiet hours: either
            assert right_away or after_quiet_hours
        assert message.direction == Message.Direction.OUTBOUND and message.status == "delivered"
        assert message.conversation.phone == call.from_phone == outreach.phone
        assert practice.brand_name in message.body
    assert deferred, "some missed calls came in during quiet hours"
    skipped = {o.state_reason for o in text_backs if o.state == Outreach.State.SKIPPED}
    assert "in touch in the last day" in skipped and "caller id withheld" in skipped


def test_each_phone_has_one_text_thread_and_its_times_match_its_messages(practice):
    threads = Conversation.objects.filter(practice=practice)
    assert threads.count() == threads.values("phone", "channel").distinct().count()
    for thread in threads.select_related("patient").prefetch_related("messages"):
        inbound = [m.created_at for m in thread.messages.all() if m.direction == Message.Direction.INBOUND]
        outbound = [m.sent_at for m in thread.messages.all() if m.direction == Message.Direction.OUTBOUND]
        assert thread.last_inbound_at == max(inbound, default=None)
        assert thread.last_outbound_at == max(outbound, default=None)
        if thread.patient_id:
            assert thread.patient.phone == thread.phone


def test_missed_callers_book_visits_after_their_missed_call(practice):
    missed = defaultdict(list)
    for phone, missed_at in Call.objects.filter(practice=practice, missed=True).values_list("from_phone", "missed_at"):
        missed[phone].append(missed_at)
    recovered = [
        appointment
        for appointment in Appointment.objects.filter(practice=practice, source="sms").select_related("patient")
        if any(at < appointment.created_at < at + timedelta(days=7) for at in missed.get(appointment.patient.phone, []))
    ]
    assert len(recovered) >= 20
    assert all(appointment.value is not None for appointment in recovered)
    assert any(appointment.campaign_id for appointment in recovered)
    assert Appointment.Status.COMPLETED in {appointment.status for appointment in recovered}


def test_no_two_active_visits_hold_a_provider_or_a_room_at_once(practice):
    by_provider, by_unit = defaultdict(list), defaultdict(list)
    for visit in Appointment.objects.filter(practice=practice, status__in=ACTIVE_STATUSES):
        by_provider[visit.provider_id].append((visit.starts_at, visit.blocks_until))
        if visit.resource_id:
            by_unit[visit.resource_id, visit.resource_unit].append((visit.starts_at, visit.blocks_until))
    for held in [*by_provider.values(), *by_unit.values()]:
        held.sort()
        for (_, ends), (next_starts, _) in zip(held, held[1:], strict=False):
            assert ends <= next_starts


def test_visits_have_a_consistent_story(practice):
    for visit in Appointment.objects.filter(practice=practice):
        if visit.status == Appointment.Status.CANCELLED:
            assert visit.cancellation_reason and visit.cancelled_at < visit.starts_at
        if visit.status == Appointment.Status.COMPLETED and visit.checked_in_at:
            assert visit.checked_in_at <= visit.completed_at
        if visit.confirmed_at:
            assert visit.created_at < visit.confirmed_at < visit.starts_at
    reminders = Outreach.objects.filter(practice=practice, kind=Outreach.Kind.REMINDER, state=Outreach.State.SENT)
    assert reminders.exists()
    for reminder in reminders.select_related("message", "appointment"):
        # Sent by the every-minute sweep once due, quiet hours waited out (`due_at` moves to their end).
        assert reminder.due_at <= reminder.message.sent_at < reminder.due_at + timedelta(minutes=2)
        assert reminder.message.kind == reminder.template_key
        if reminder.template_key == "reminder_48h":
            assert reminder.message.sent_at < reminder.appointment.starts_at - timedelta(hours=36)
    reminded = Appointment.objects.filter(outreach__in=reminders).distinct()
    assert reminded.filter(confirmed_at__isnull=False).count() >= reminded.count() // 3


def test_qualified_leads_were_offered_real_times_before_booking(practice):
    offers = Message.objects.filter(practice=practice, kind="times_offered")
    assert offers.count() >= 20
    assert all("Reply 1, 2 or 3 to book." in offer.body for offer in offers)


def test_escalations_are_claimed_by_the_front_desk_after_they_open(practice):
    escalations = Escalation.objects.filter(practice=practice).select_related("claimed_by")
    claimed = [e for e in escalations if e.claimed_at is not None]
    assert len(claimed) >= 30
    assert all(e.claimed_at >= e.created_at and e.claimed_by.username == "frontdesk" for e in claimed)
    assert all(
        e.claimed_at - e.created_at <= timedelta(minutes=3)
        for e in claimed
        if e.category == Escalation.Category.EMERGENCY
    )
    assert all(e.resolved_at >= e.claimed_at for e in claimed if e.resolved_at)
    assert escalations.filter(status=Escalation.Status.OPEN).exists()
    assert len({e.category for e in escalations}) >= 4
    for escalation in escalations:
        assert escalation.sla_due_at > escalation.created_at
        assert escalation.source_message.body == escalation.summary["exact_words"]


def test_calls_to_the_tracking_number_count_for_its_campaign(practice):
    calls = Call.objects.filter(practice=practice).select_related("phone_number")
    tracked = [call for call in calls if call.phone_number.campaign_id]
    assert 0.03 < len(tracked) / calls.count() < 0.15
    assert all(call.campaign_id == call.phone_number.campaign_id for call in calls)
