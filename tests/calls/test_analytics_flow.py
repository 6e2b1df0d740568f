"""What the receptionist really records is what analytics counts: the funnel through the real webhooks,
and a text-back that waited out quiet hours."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from analytics.filters import Filters
from analytics.selectors import dashboard
from booking.models import Appointment
from calls.models import Message, Outreach
from calls.tasks import outreach_sweep
from tests.calls.conftest import fixture
from tests.calls.test_dialogue import Patient, spa  # noqa: F401 (spa is a fixture)

NY = ZoneInfo("America/New_York")


def test_a_recovered_missed_call_runs_the_whole_funnel(spa, twilio, outbox):  # noqa: F811
    spa["consultation"].visit_value = Decimal("150")
    spa["consultation"].save()
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    patient = Patient(twilio, outbox)
    patient.text("do you have anything for botox next week")
    patient.text("no, first time")
    assert Message.objects.filter(direction="outbound", kind="times_offered").count() == 1
    patient.text("2")
    appointment = Appointment.objects.get()
    assert appointment.value == Decimal("150.00")  # the service's visit value, kept on the visit

    today = date(2026, 12, 2)
    figures = dashboard(spa["line"].practice, Filters(start=today, end=today), rollups=False).figures
    assert [row["count"] for row in figures["funnel"]] == [1, 1, 1, 1, 1, 0]
    assert figures["recovered"]["booked_value"] == Decimal("150.00")
    assert figures["speed_to_lead"]["median_seconds"] < 5
    assert figures["calls"]["missed_reasons"][0]["reason"] == "no_answer"


def test_a_text_back_deferred_by_quiet_hours_counts_its_real_wait(line, twilio, outbox, clock):
    clock.move_to(datetime(2026, 12, 2, 23, 30, tzinfo=NY))
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    assert outbox == []
    text_back = Outreach.objects.get(kind="text_back")
    assert text_back.state == "pending" and text_back.due_at == datetime(2026, 12, 3, 8, 0, tzinfo=NY)
    wednesday = Filters(start=date(2026, 12, 2), end=date(2026, 12, 2))
    before = dashboard(line.practice, wednesday, rollups=False).figures
    assert before["calls"]["missed"] == 1 and before["speed_to_lead"]["texted"] == 0

    clock.move_to(datetime(2026, 12, 3, 8, 0, 30, tzinfo=NY))
    outreach_sweep()
    assert len(outbox) == 1
    after = dashboard(line.practice, wednesday, rollups=False).figures
    # Counted on the local day of the call (Wednesday 23:30), with the hours it really waited.
    assert after["speed_to_lead"]["texted"] == 1
    assert 8.5 * 3600 <= after["speed_to_lead"]["median_seconds"] <= 8.5 * 3600 + 60
