from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from practices.models import Location, Patient, Practice, Provider, Resource, Service
from tests.booking.caldav_server import radicale, remote  # noqa: F401 (a real CalDAV server for the sync tests)
from tests.factories import (
    BusinessHoursFactory,
    LocationFactory,
    PatientFactory,
    PracticeFactory,
    ProviderFactory,
    ProviderShiftFactory,
    ResourceFactory,
    ServiceFactory,
)


@dataclass
class Calendar:
    practice: Practice
    location: Location
    service: Service
    provider: Provider
    patient: Patient
    other_patient: Patient
    day: object

    def at(self, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(self.day, time(hour, minute), self.location.zone)

    def add_provider(self, **kwargs) -> Provider:
        provider = ProviderFactory(practice=self.practice, **kwargs)
        provider.locations.add(self.location)
        provider.services.add(self.service)
        for weekday in range(7):
            ProviderShiftFactory(provider=provider, location=self.location, weekday=weekday)
        return provider

    def add_room(self, capacity: int = 1) -> Resource:
        room = ResourceFactory(practice=self.practice, location=self.location, capacity=capacity)
        room.services.add(self.service)
        return room


def build_calendar() -> Calendar:
    """A practice open 9-17 every day, one 60-minute service with a 15-minute buffer, one provider."""
    practice = PracticeFactory(min_notice_minutes=0, booking_horizon_days=120)
    location = LocationFactory(practice=practice, time_zone="America/New_York")
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(17))
    service = ServiceFactory(practice=practice, duration_minutes=60, buffer_after_minutes=15)
    calendar = Calendar(
        practice=practice,
        location=location,
        service=service,
        provider=None,
        patient=PatientFactory(practice=practice),
        other_patient=PatientFactory(practice=practice),
        day=timezone.localdate(timezone=location.zone) + timedelta(days=7),
    )
    calendar.provider = calendar.add_provider()
    return calendar


@pytest.fixture
def calendar(db) -> Calendar:
    return build_calendar()
