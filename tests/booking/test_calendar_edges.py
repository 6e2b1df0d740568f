"""The database layer hands the engine the right local schedule on daylight-saving days and closures."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from booking import services
from booking.ics import appointment_ics
from booking.selectors import appointments_on_day, first_choices, open_slots
from practices.models import Closure
from tests.factories import (
    AppointmentFactory,
    BusinessHoursFactory,
    LocationFactory,
    PatientFactory,
    PracticeFactory,
    ProviderFactory,
    ProviderShiftFactory,
    ServiceFactory,
)

NEW_YORK, PHOENIX = ZoneInfo("America/New_York"), ZoneInfo("America/Phoenix")


def open_every_day(practice, zone_name):
    location = LocationFactory(practice=practice, time_zone=zone_name)
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(17))
    return location


@pytest.fixture
def two_zones(db):
    practice = PracticeFactory(min_notice_minutes=0, booking_horizon_days=3650)
    service = ServiceFactory(practice=practice, duration_minutes=60, buffer_after_minutes=0)
    places = {"ny": open_every_day(practice, "America/New_York"), "az": open_every_day(practice, "America/Phoenix")}
    provider = ProviderFactory(practice=practice)
    provider.services.add(service)
    provider.locations.add(*places.values())
    for location in places.values():
        for weekday in range(7):
            ProviderShiftFactory(provider=provider, location=location, weekday=weekday)
    return practice, service, places, provider


def slots_on(service, location, day):
    zone = location.zone
    return open_slots(
        service=service,
        location=location,
        start=datetime.combine(day, time(0), zone),
        end=datetime.combine(day + timedelta(days=1), time(0), zone),
        now=datetime(2020, 1, 1, tzinfo=zone),
    )


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])
def test_new_york_dst_days_open_at_nine_local_with_the_new_offset(two_zones, day):
    _, service, places, _ = two_zones
    slots = slots_on(service, places["ny"], day)
    assert slots[0].start == datetime(day.year, day.month, day.day, 9, tzinfo=NEW_YORK)
    assert slots[-1].start == datetime(day.year, day.month, day.day, 16, tzinfo=NEW_YORK)
    assert len(slots) == 29  # 9:00 to 16:00 every 15 minutes
    before = slots_on(service, places["ny"], day - timedelta(days=1))[0].start
    assert slots[0].start.utcoffset() != before.utcoffset()


@pytest.mark.parametrize("day", [date(2026, 3, 8), date(2026, 11, 1)])
def test_phoenix_keeps_its_offset_on_the_same_days(two_zones, day):
    _, service, places, _ = two_zones
    slots = slots_on(service, places["az"], day)
    assert slots[0].start == datetime(day.year, day.month, day.day, 9, tzinfo=PHOENIX)
    assert slots[0].start.utcoffset() == timedelta(hours=-7)
    assert slots_on(service, places["az"], day - timedelta(days=1))[0].start.utcoffset() == timedelta(hours=-7)


def test_a_holiday_for_every_location_closes_both(two_zones):
    practice, service, places, _ = two_zones
    Closure.objects.create(
        practice=practice, name="Thanksgiving", starts_on=date(2026, 11, 26), ends_on=date(2026, 11, 26)
    )
    assert slots_on(service, places["ny"], date(2026, 11, 26)) == []
    assert slots_on(service, places["az"], date(2026, 11, 26)) == []
    assert slots_on(service, places["ny"], date(2026, 11, 27))


def test_a_partial_closure_at_one_location_closes_only_that_window_there(two_zones):
    practice, service, places, _ = two_zones
    Closure.objects.create(
        practice=practice,
        location=places["ny"],
        name="Staff training",
        starts_on=date(2026, 12, 2),
        ends_on=date(2026, 12, 2),
        from_time=time(12),
        to_time=time(17),
    )
    ny = slots_on(service, places["ny"], date(2026, 12, 2))
    assert ny[-1].start.time() == time(11)  # 11:00-12:00 is the last visit that ends before noon
    assert slots_on(service, places["az"], date(2026, 12, 2))[-1].start.time() == time(16)


def test_a_provider_busy_in_one_city_is_not_offered_in_the_other(two_zones):
    practice, service, places, provider = two_zones
    day = date(2027, 1, 6)
    services.appointment_book(
        practice=practice,
        patient=PatientFactory(practice=practice),
        service=service,
        location=places["ny"],
        provider=provider,
        starts_at=datetime.combine(day, time(13), NEW_YORK),
        source="staff",
    )
    # 13:00 New York is 11:00 Phoenix in January.
    az_starts = [slot.start.time() for slot in slots_on(service, places["az"], day)]
    assert time(11) not in az_starts and time(10, 15) not in az_starts and time(12) in az_starts


def test_first_choices_gives_the_first_time_on_three_different_days(two_zones):
    _, service, places, _ = two_zones
    start = datetime(2027, 2, 1, 0, tzinfo=NEW_YORK)
    choices = first_choices(
        service=service,
        location=places["ny"],
        start=start,
        end=start + timedelta(days=30),
        now=start - timedelta(days=1),
    )
    assert [slot.start for slot in choices] == [datetime(2027, 2, d, 9, tzinfo=NEW_YORK) for d in (1, 2, 3)]


def test_a_late_evening_visit_counts_on_its_local_day(two_zones):
    practice, service, places, provider = two_zones
    late = AppointmentFactory(
        practice=practice,
        location=places["az"],
        service=service,
        provider=provider,
        starts_at=datetime(2027, 1, 6, 23, 30, tzinfo=PHOENIX),
    )  # 06:30 UTC next day
    assert list(appointments_on_day(practice=practice, day=date(2027, 1, 6))) == [late]
    assert list(appointments_on_day(practice=practice, day=date(2027, 1, 7))) == []


def test_the_confirmation_calendar_file_is_in_the_locations_time_zone(two_zones):
    practice, service, places, provider = two_zones
    visit = services.appointment_book(
        practice=practice,
        patient=PatientFactory(practice=practice),
        service=service,
        location=places["az"],
        provider=provider,
        starts_at=datetime(2027, 3, 15, 10, tzinfo=PHOENIX),
        source="sms",
    )
    parsed = icalendar.Calendar.from_ical(appointment_ics(visit))
    event = next(iter(parsed.walk("VEVENT")))
    assert event.decoded("dtstart") == datetime(2027, 3, 15, 10, tzinfo=PHOENIX)
    assert event.get("dtstart").params["TZID"] == "America/Phoenix"
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=1)
    assert [tz.get("tzid") for tz in parsed.walk("VTIMEZONE")] == ["America/Phoenix"]
    assert practice.brand_name in str(event.get("summary"))
    assert str(event.get("status")) == "CONFIRMED"
    services.appointment_cancel(appointment=visit)
    visit.refresh_from_db()
    cancelled = icalendar.Calendar.from_ical(appointment_ics(visit))
    assert str(next(iter(cancelled.walk("VEVENT"))).get("status")) == "CANCELLED"
    assert str(cancelled.get("method")) == "CANCEL"


def test_back_to_back_hours_rows_let_a_visit_run_across_the_seam(db):
    practice = PracticeFactory(min_notice_minutes=0, booking_horizon_days=3650)
    location = LocationFactory(practice=practice)
    service = ServiceFactory(practice=practice, duration_minutes=60, buffer_after_minutes=0)
    provider = ProviderFactory(practice=practice)
    provider.services.add(service)
    provider.locations.add(location)
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(12))
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(12), closes_at=time(17))
        ProviderShiftFactory(provider=provider, location=location, weekday=weekday)
    starts = [slot.start.time() for slot in slots_on(service, location, date(2027, 1, 6))]
    assert time(11, 30) in starts
