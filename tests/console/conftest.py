from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from booking.models import FollowUpTask, SeriesEnrollment, SeriesTemplate
from calls.models import Conversation, Message
from escalations.services import escalation_open
from tests.factories import (
    AppointmentFactory,
    BusinessHoursFactory,
    LocationFactory,
    PatientFactory,
    PhoneNumberFactory,
    PracticeFactory,
    ProviderFactory,
    ProviderShiftFactory,
    ServiceFactory,
    StaffMemberFactory,
)


def build_desk(practice=None, *, phone="+16465550188"):
    """A practice with one of everything the front desk works on."""
    practice = practice or PracticeFactory(brand_name="Glow Aesthetics", min_notice_minutes=0)
    location = LocationFactory(practice=practice, time_zone="America/New_York")
    PhoneNumberFactory(practice=practice, location=location)
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(19))
    service = ServiceFactory(practice=practice, name="HydraFacial", duration_minutes=60)
    provider = ProviderFactory(practice=practice, first_name="Sofia")
    provider.locations.add(location)
    provider.services.add(service)
    for weekday in range(7):
        ProviderShiftFactory(provider=provider, location=location, weekday=weekday, starts_at=time(9), ends_at=time(19))
    patient = PatientFactory(practice=practice, phone=phone, first_name="Olivia", last_name="Nguyen")
    conversation = Conversation.objects.create(
        practice=practice,
        phone=phone,
        channel="sms",
        patient=patient,
        location=location,
        last_inbound_at=timezone.now(),
    )
    Message.objects.create(
        practice=practice,
        conversation=conversation,
        direction="inbound",
        channel="sms",
        sender="patient",
        body="<b>my lip looks white</b>",
        provider_sid=f"SM{phone[-4:]}{'0' * 28}",
    )
    escalation, _ = escalation_open(
        practice=practice,
        category="emergency",
        patient=patient,
        conversation=conversation,
        summary={
            "name": "Olivia Nguyen",
            "phone": phone,
            "exact_words": "<b>my lip looks white</b>",
            "question": "Possible emergency",
        },
    )
    today = timezone.localdate(timezone=location.zone)
    appointment = AppointmentFactory(
        practice=practice,
        location=location,
        patient=patient,
        service=service,
        provider=provider,
        starts_at=timezone.make_aware(timezone.datetime.combine(today, time(15)), location.zone),
    )
    template = SeriesTemplate.objects.create(
        practice=practice, name="Laser", service=service, visits=6, interval_days=35
    )
    enrollment = SeriesEnrollment.objects.create(
        practice=practice,
        patient=patient,
        template=template,
        visits_done=2,
        status="late",
        next_due_from=today - timedelta(days=30),
        next_due_on=today - timedelta(days=23),
        next_due_until=today - timedelta(days=16),
    )
    task = FollowUpTask.objects.create(
        practice=practice, patient=patient, kind="callback", due_on=today, reason="Texted us: call back"
    )
    return {
        "practice": practice,
        "location": location,
        "service": service,
        "provider": provider,
        "patient": patient,
        "conversation": conversation,
        "escalation": escalation,
        "appointment": appointment,
        "enrollment": enrollment,
        "task": task,
        "today": today,
    }


@pytest.fixture(autouse=True)
def clock():
    """Wednesday 10:00 in New York: open, and not quiet hours."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("America/New_York")), tick=True) as t:
        yield t


@pytest.fixture
def desk(db):
    return build_desk()


@pytest.fixture
def other_desk(db):
    return build_desk(phone="+16465550177")


@pytest.fixture
def staff(desk):
    return StaffMemberFactory(practice=desk["practice"], role="front_desk").user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


__all__ = ["build_desk", "date"]
