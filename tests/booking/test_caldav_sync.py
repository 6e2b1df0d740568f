"""Reading the practice's own calendar from a real CalDAV server (Radicale on loopback): its events become
busy time in our availability, recurrences across a DST change included, incrementally, with mapping of
event types to services."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from django_q.models import Schedule

from analytics import facts
from booking.caldav_sync import connection_sync
from booking.models import CalendarConnection, EventTypeMapping, ExternalEvent, SeriesEnrollment, SeriesTemplate
from booking.selectors import open_slots
from booking.services import enrollment_start
from booking.tasks import calendar_sync_all
from medspa_receptionist.tasks import ensure_schedules
from tests.booking.caldav_server import connect, vevent
from tests.booking.conftest import build_calendar
from tests.factories import PatientFactory, ServiceFactory

NY = ZoneInfo("America/New_York")


def starts_on(calendar, day: date) -> set[time]:
    """Local start times offered for the test service on `day`."""
    slots = open_slots(
        service=calendar.service,
        location=calendar.location,
        start=datetime.combine(day, time(0), NY),
        end=datetime.combine(day + timedelta(days=1), time(0), NY),
    )
    return {slot.start.astimezone(NY).time() for slot in slots}


def ical_at(day: date, hour: int, minute: int = 0) -> str:
    return f";TZID=America/New_York:{day:%Y%m%d}T{hour:02d}{minute:02d}00"


def test_an_event_in_the_calendar_blocks_our_slots(calendar, radicale, remote):
    connection = connect(calendar, remote, radicale)
    day = calendar.day
    assert time(11) in starts_on(calendar, day)
    remote.save_event(vevent("lunch-1", ical_at(day, 11), ical_at(day, 12), "Lunch with rep"))

    outcome = connection_sync(connection_id=connection.pk)

    assert outcome.ok and outcome.fetched == 1
    offered = starts_on(calendar, day)
    # A 60-minute visit with a 15-minute buffer may neither run into 11:00-12:00 nor start inside it.
    assert not offered & {time(10), time(10, 45), time(11), time(11, 45)}
    assert {time(9), time(9, 45), time(12)} <= offered
    connection.refresh_from_db()
    assert connection.last_success_at is not None and connection.last_error == ""


def test_a_weekly_recurring_event_blocks_the_same_local_time_on_both_sides_of_the_dst_change(db, radicale):
    # Clocks fall back in New York on Sunday, November 1, 2026.
    with time_machine.travel(datetime(2026, 10, 20, 9, 0, tzinfo=NY), tick=True):
        calendar = build_calendar()
        remote = radicale.new_calendar()
        connection = connect(calendar, remote, radicale)
        remote.save_event(
            vevent(
                "staff-meeting",
                ";TZID=America/New_York:20261026T100000",
                ";TZID=America/New_York:20261026T110000",
                "Staff meeting",
                "RRULE:FREQ=WEEKLY;BYDAY=MO",
            )
        )
        assert connection_sync(connection_id=connection.pk).ok

        before, after = date(2026, 10, 26), date(2026, 11, 2)
        for monday in (before, after):
            offered = starts_on(calendar, monday)
            assert time(10) not in offered and time(9) not in offered, monday  # 9:00 + 75 min runs into 10:00
            assert time(11) in offered, monday
        # The same wall-clock hour is a different instant: 14:00 UTC in daylight time, 15:00 UTC after.
        event = ExternalEvent.objects.get(connection=connection)
        starts = sorted(event.occurrences.values_list("starts_at", flat=True))
        assert datetime(2026, 10, 26, 14, 0, tzinfo=UTC) in starts
        assert datetime(2026, 11, 2, 15, 0, tzinfo=UTC) in starts


@pytest.mark.parametrize("policy, blocked", [(CalendarConnection.AllDay.BUSY, True), ("ignore", False)])
def test_all_day_events_are_honoured_as_the_practice_chooses(calendar, radicale, remote, policy, blocked):
    connection = connect(calendar, remote, radicale, all_day_events=policy)
    day = calendar.day
    remote.save_event(
        vevent(
            "vacation",
            f";VALUE=DATE:{day:%Y%m%d}",
            f";VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            "Vacation",
            "TRANSP:TRANSPARENT",
        )
    )
    assert connection_sync(connection_id=connection.pk).ok
    assert (starts_on(calendar, day) == set()) is blocked
    assert starts_on(calendar, day + timedelta(days=1))


def test_a_second_sync_uses_the_sync_token_and_fetches_only_what_changed(calendar, radicale, remote):
    connection = connect(calendar, remote, radicale)
    day = calendar.day
    remote.save_event(vevent("a", ical_at(day, 9), ical_at(day, 10), "Meeting"))
    remote.save_event(vevent("b", ical_at(day, 14), ical_at(day, 15), "Call"))

    first = connection_sync(connection_id=connection.pk)
    assert (first.kind, first.fetched) == ("full", 2)
    token = CalendarConnection.objects.get(pk=connection.pk).sync_token
    assert token

    second = connection_sync(connection_id=connection.pk)
    assert (second.kind, second.fetched, second.removed) == ("sync token", 0, 0)
    assert CalendarConnection.objects.get(pk=connection.pk).last_fetched == 0

    # Moved in the other app: only that event is fetched again, and the busy time moves with it.
    moved = remote.event_by_uid("b")
    moved.data = vevent("b", ical_at(day, 16), ical_at(day, 17), "Call")
    moved.save()
    third = connection_sync(connection_id=connection.pk)
    assert (third.kind, third.fetched) == ("sync token", 1)
    offered = starts_on(calendar, day)
    assert time(14) in offered and time(16) not in offered

    # Deleted in the other app: its time is free again.
    remote.event_by_uid("a").delete()
    fourth = connection_sync(connection_id=connection.pk)
    assert (fourth.fetched, fourth.removed) == (0, 1)
    assert time(9) in starts_on(calendar, day)
    assert ExternalEvent.objects.filter(connection=connection).count() == 1


def test_an_unknown_sync_token_falls_back_to_comparing_the_whole_calendar(calendar, radicale, remote):
    connection = connect(calendar, remote, radicale)
    day = calendar.day
    remote.save_event(vevent("a", ical_at(day, 9), ical_at(day, 10)))
    assert connection_sync(connection_id=connection.pk).ok
    CalendarConnection.objects.filter(pk=connection.pk).update(sync_token="http://radicale.org/ns/sync/unknown")
    remote.event_by_uid("a").delete()

    outcome = connection_sync(connection_id=connection.pk)

    assert outcome.ok and outcome.kind == "full" and outcome.removed == 1
    assert time(9) in starts_on(calendar, day)


def test_the_minute_schedule_syncs_every_active_connection(calendar, radicale, remote):
    connection = connect(calendar, remote, radicale)
    connect(calendar, radicale.new_calendar(), radicale, is_active=False, name="Old calendar")
    remote.save_event(vevent("a", ical_at(calendar.day, 9), ical_at(calendar.day, 10)))

    assert calendar_sync_all() == 1  # tasks run inline in tests

    assert ExternalEvent.objects.filter(connection=connection).count() == 1
    ensure_schedules()
    schedule = Schedule.objects.get(name="calendar-sync")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "booking.tasks.calendar_sync_all",
        Schedule.MINUTES,
        1,
    )


def test_event_titles_and_categories_become_services_that_analytics_and_series_count(calendar, radicale, remote):
    practice = calendar.practice
    tox = ServiceFactory(practice=practice, name="Tox", visit_value=400)
    facial = ServiceFactory(practice=practice, name="HydraFacial")
    EventTypeMapping.objects.create(practice=practice, pattern="botox", service=tox)
    EventTypeMapping.objects.create(practice=practice, match_on="category", pattern="Facials", service=facial)
    patient = PatientFactory(practice=practice, phone="+16465550123")
    template = SeriesTemplate.objects.create(practice=practice, name="Tox", service=tox, visits=1, interval_days=90)
    enrollment = enrollment_start(
        patient=patient, template=template, started_on=timezone.localdate() - timedelta(days=20)
    )
    connection = connect(calendar, remote, radicale)
    now = timezone.now()
    past = (now - timedelta(days=2)).astimezone(NY).date()
    remote.save_event(
        vevent("v1", ical_at(past, 10), ical_at(past, 10, 30), "BOTOX 20u f/u", "DESCRIPTION:Call 646-555-0123")
    )
    remote.save_event(vevent("v2", ical_at(calendar.day, 13), ical_at(calendar.day, 14), "Glow", "CATEGORIES:Facials"))
    remote.save_event(vevent("v3", ical_at(calendar.day, 15), ical_at(calendar.day, 16), "Dentist"))

    assert connection_sync(connection_id=connection.pk).ok

    events = {event.uid: event for event in ExternalEvent.objects.filter(connection=connection)}
    assert events["v1"].service == tox and events["v1"].patient == patient
    assert events["v2"].service == facial and events["v2"].patient is None
    assert events["v3"].service is None
    # The past visit of a known patient counts in their series (once, however often the sync runs).
    assert connection_sync(connection_id=connection.pk).ok
    enrollment.refresh_from_db()
    assert enrollment.visits_done == 1 and enrollment.status == SeriesEnrollment.Status.COMPLETED
    # Analytics counts mapped visits as visits (on their day) under the "calendar" source; unmapped ones not.
    days = facts.compute(practice, past, calendar.day)
    visits, bookings = {}, {}
    for key, value in days.items():
        if key.source == facts.CALENDAR:
            visits[key.day] = visits.get(key.day, 0) + value.get("visits", 0)
            bookings[key.day] = bookings.get(key.day, 0) + value.get("bookings", 0)
    assert {day: count for day, count in visits.items() if count} == {past: 1, calendar.day: 1}
    # Booked when first seen (these events carry no CREATED), but never after the visit itself.
    today = timezone.localdate(timezone=NY)
    assert {day: count for day, count in bookings.items() if count} == {past: 1, today: 1}


def test_a_location_calendar_holds_every_provider_there_and_a_rooms_calendar_holds_the_room(calendar, radicale):
    second = calendar.add_provider(first_name="Kim")
    room = calendar.add_room()
    day = calendar.day
    location_calendar, room_calendar = radicale.new_calendar(), radicale.new_calendar()
    at_location = connect(calendar, location_calendar, radicale, provider=None, location=calendar.location)
    for_room = connect(calendar, room_calendar, radicale, provider=None, resource=room, name="Laser room")
    location_calendar.save_event(vevent("team", ical_at(day, 9), ical_at(day, 10), "Team huddle"))
    room_calendar.save_event(vevent("service", ical_at(day, 14), ical_at(day, 15), "Laser service visit"))

    assert connection_sync(connection_id=at_location.pk).ok and connection_sync(connection_id=for_room.pk).ok

    slots = open_slots(
        service=calendar.service,
        location=calendar.location,
        start=datetime.combine(day, time(0), NY),
        end=datetime.combine(day + timedelta(days=1), time(0), NY),
    )
    by_provider = {(slot.provider_id, slot.start.astimezone(NY).time()) for slot in slots}
    for provider in (calendar.provider, second):
        assert (provider.pk, time(9)) not in by_provider
    starts = {start for _, start in by_provider}
    assert time(10) in starts and time(14) not in starts and time(13, 30) not in starts and time(15) in starts
