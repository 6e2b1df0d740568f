"""Booking against the practice's own calendar on a real CalDAV server (Radicale on loopback): our visits
are written there and follow reschedules and cancellations; a booking re-checks the calendar first;
clashes are flagged to staff; a broken connection is reported in plain words and holds up booking for no
longer than the practice's limit."""

import socket
import time as clock
from datetime import datetime, time, timedelta

import caldav
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.caldav_sync import connection_sync, our_uid
from booking.models import Appointment, CalendarConflict, CalendarConnection, SyncedAppointment
from booking.selectors import open_slots
from tests.booking.caldav_server import connect, free_port, vevent
from tests.factories import StaffMemberFactory


def ical(moment: datetime) -> str:
    """A property value for a New York time (the test practice's zone)."""
    return f";TZID=America/New_York:{moment:%Y%m%dT%H%M%S}"


def manager_of(calendar):
    return StaffMemberFactory(practice=calendar.practice, role="manager").user


def book(calendar, hour: int, minute: int = 0, **kwargs) -> Appointment:
    return services.appointment_book(
        practice=calendar.practice,
        patient=kwargs.pop("patient", calendar.patient),
        service=calendar.service,
        location=calendar.location,
        provider=calendar.provider,
        starts_at=calendar.at(hour, minute),
        source="staff",
        **kwargs,
    )


def remote_event(remote: caldav.Calendar, appointment: Appointment):
    return remote.event_by_uid(our_uid(appointment, appointment.practice.slug))


def offered(calendar) -> set[time]:
    slots = open_slots(
        service=calendar.service,
        location=calendar.location,
        provider=calendar.provider,
        start=calendar.at(0),
        end=calendar.at(23, 59),
    )
    return {slot.start.time() for slot in slots}


def status_page(client, user):
    client.force_login(user)
    response = client.get(reverse("console-calendar-sync"))
    assert response.status_code == 200
    return response.content.decode()


def test_our_bookings_appear_in_the_calendar_and_move_and_disappear_with_reschedule_and_cancel(
    calendar, radicale, remote, django_capture_on_commit_callbacks
):
    connection = connect(calendar, remote, radicale)
    calendar.patient.first_name, calendar.patient.last_name = "Maria", "Quintero"
    calendar.patient.save()

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(calendar, 10)
    event = remote_event(remote, appointment).icalendar_component
    assert str(event["SUMMARY"]) == f"{calendar.service.name} - Maria"
    assert event["DTSTART"].dt == calendar.at(10)
    assert str(event["DTSTART"].params["TZID"]) == "America/New_York"
    data = remote_event(remote, appointment).data
    # Nothing about the patient beyond what the practice allows: no last name, no phone.
    assert "Quintero" not in data and str(calendar.patient.phone)[2:] not in data

    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_reschedule(appointment=appointment, starts_at=calendar.at(14))
    assert remote_event(remote, appointment).icalendar_component["DTSTART"].dt == calendar.at(14)
    assert len(remote.events()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(appointment=appointment, reason="Sick")
    with pytest.raises(caldav.lib.error.NotFoundError):
        remote_event(remote, appointment)
    assert not SyncedAppointment.objects.filter(appointment=appointment).exists()

    # Our own events read back by the sync are not busy time from outside, and nothing is flagged.
    with django_capture_on_commit_callbacks(execute=True):
        again = book(calendar, 11)
    outcome = connection_sync(connection_id=connection.pk)
    assert outcome.ok and outcome.written == 0 and outcome.conflicts == 0
    assert not connection.events.exists()
    assert remote_event(remote, again)


def test_the_calendar_shows_only_the_service_when_the_practice_says_so(calendar, radicale, remote):
    connection = connect(calendar, remote, radicale, event_details=CalendarConnection.Detail.SERVICE)
    appointment = book(calendar, 10)  # not written yet: the booking's task runs after commit
    assert not SyncedAppointment.objects.exists()

    outcome = connection_sync(connection_id=connection.pk)  # the minute sync writes what is missing

    assert outcome.written == 1
    assert str(remote_event(remote, appointment).icalendar_component["SUMMARY"]) == calendar.service.name
    assert connection_sync(connection_id=connection.pk).written == 0  # unchanged: not written twice


def test_an_event_created_between_sync_and_booking_makes_the_booking_refuse(calendar, radicale, remote):
    connection = connect(calendar, remote, radicale)
    assert connection_sync(connection_id=connection.pk).ok
    assert time(10) in offered(calendar)
    # Someone at the desk takes 10:30 in the other calendar a moment later.
    remote.save_event(vevent("walk-in", ical(calendar.at(10, 30)), ical(calendar.at(11)), "Walk-in"))

    with pytest.raises(services.CalendarTaken, match="just taken in Dr. Lee's calendar"):
        book(calendar, 10)

    assert not Appointment.objects.exists()
    # What the check found is in our copy at once: the engine no longer offers it, before any sync.
    assert not offered(calendar) & {time(9, 30), time(10), time(10, 30)}
    assert time(11) in offered(calendar)
    # A free time still books, and the receptionist's own calendar check is a SlotUnavailable to callers.
    assert issubclass(services.CalendarTaken, services.SlotUnavailable)
    assert book(calendar, 13).status == Appointment.Status.BOOKED


def test_an_overlap_created_outside_the_app_is_flagged_to_staff_and_neither_side_is_changed(
    calendar, radicale, remote, client, django_capture_on_commit_callbacks
):
    staff = manager_of(calendar)
    connection = connect(calendar, remote, radicale)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(calendar, 10)
    remote.save_event(vevent("double", ical(calendar.at(10, 30)), ical(calendar.at(11, 30)), "Consult w/ rep"))

    outcome = connection_sync(connection_id=connection.pk)

    assert outcome.conflicts == 1
    conflict = CalendarConflict.objects.get()
    assert (conflict.kind, conflict.status, conflict.appointment) == ("overlap", "open", appointment)
    assert conflict.event_title == "Consult w/ rep"
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED and appointment.starts_at == calendar.at(10)
    assert remote.event_by_uid("double")  # their event is still there ...
    assert time(11) not in offered(calendar)  # ... and still busy time
    assert connection_sync(connection_id=connection.pk).conflicts == 1  # flagged once, however often

    page = status_page(client, staff)
    assert "Consult w/ rep" in page and "An event overlaps one of our visits" in page
    response = client.post(
        reverse("console-calendar-conflict-handled", args=[conflict.pk]), {"note": "Moved the rep to 12"}
    )
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == "handled" and conflict.handled_by == staff and conflict.note == "Moved the rep to 12"
    assert connection_sync(connection_id=connection.pk).conflicts == 0  # a handled clash is not raised again

    # A clash that goes away by itself is closed as cleared.
    remote.save_event(vevent("second", ical(calendar.at(9, 30)), ical(calendar.at(10, 15)), "Call"))
    assert connection_sync(connection_id=connection.pk).conflicts == 1
    remote.event_by_uid("second").delete()
    assert connection_sync(connection_id=connection.pk).conflicts == 0
    assert CalendarConflict.objects.filter(status="cleared").count() == 1


def test_our_event_changed_in_the_calendar_is_flagged_and_a_deleted_one_is_written_again(
    calendar, radicale, remote, django_capture_on_commit_callbacks
):
    connection = connect(calendar, remote, radicale)
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(calendar, 10)
    assert connection_sync(connection_id=connection.pk).ok
    remote_event(remote, appointment).delete()

    outcome = connection_sync(connection_id=connection.pk)

    flag = CalendarConflict.objects.get(kind="edited")
    assert flag.appointment == appointment and "written again" in flag.note
    assert outcome.written == 1 and remote_event(remote, appointment)


def test_a_wrong_password_is_reported_in_plain_words_and_holds_up_booking_no_longer_than_the_limit(
    calendar, radicale, remote, client
):
    manager = manager_of(calendar)
    start = timezone.now()
    connection = connect(calendar, remote, radicale, password="not-the-password", max_staleness_minutes=10)

    outcome = connection_sync(connection_id=connection.pk, now=start)

    assert not outcome.ok and "refused the username or app password" in outcome.error
    page = status_page(client, manager)
    assert "refused the username or app password" in page and "Bookings for it are refused until" in page
    # Within the limit: nothing is offered for this provider, and a booking is refused with the reason.
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert offered(calendar) == set()
        with pytest.raises(services.CalendarUnverified, match="10-minute limit"):
            book(calendar, 10)
    # After the limit, booking goes ahead on our own calendar (and says so on the status page).
    with time_machine.travel(start + timedelta(minutes=10, seconds=30), tick=False):
        assert time(10) in offered(calendar)
        assert book(calendar, 10).status == Appointment.Status.BOOKED
        page = status_page(client, manager)
        assert "bookings go ahead on our own calendar" in page
    # Fixing the password brings it back.
    connection.refresh_from_db()
    connection.set_password(radicale.password)
    connection.save()
    assert connection_sync(connection_id=connection.pk).ok
    connection.refresh_from_db()
    assert connection.last_error == "" and connection.failing_since is None


def test_an_unreachable_server_is_reported_and_booking_uses_a_fresh_copy_then_waits_at_most_the_limit(
    calendar, radicale, remote, client
):
    manager = manager_of(calendar)
    start = timezone.now()
    connection = connect(calendar, remote, radicale, max_staleness_minutes=10)
    remote.save_event(vevent("lunch", ical(calendar.at(12)), ical(calendar.at(13)), "Lunch"))
    assert connection_sync(connection_id=connection.pk, now=start).ok
    # The server goes away.
    gone = f"http://127.0.0.1:{free_port()}/"
    CalendarConnection.objects.filter(pk=connection.pk).update(server_url=gone, calendar_url=gone + "drlee/cal/")

    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        outcome = connection_sync(connection_id=connection.pk)
        assert not outcome.ok and "Could not connect to the calendar server at 127.0.0.1" in outcome.error
        # Our copy is 2 minutes old: booking goes ahead on it, and its busy time still counts.
        assert book(calendar, 9).status == Appointment.Status.BOOKED
        assert time(12) not in offered(calendar)
    with time_machine.travel(start + timedelta(minutes=12), tick=False):
        with pytest.raises(services.CalendarUnverified, match="could not be checked"):
            book(calendar, 14)
        page = status_page(client, manager)
        assert "Could not connect to the calendar server" in page
    with time_machine.travel(start + timedelta(minutes=20, seconds=30), tick=False):
        assert book(calendar, 14).status == Appointment.Status.BOOKED
        assert time(12) not in offered(calendar)  # the last copy still counts


def test_a_server_that_never_answers_costs_a_booking_only_the_short_timeout(calendar, radicale, remote, settings):
    settings.CALDAV_TIMEOUT_SECONDS = 1
    connection = connect(calendar, remote, radicale)
    assert connection_sync(connection_id=connection.pk).ok
    with socket.socket() as silent:  # accepts connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        CalendarConnection.objects.filter(pk=connection.pk).update(server_url=url, calendar_url=url + "drlee/cal/")
        began = clock.monotonic()
        appointment = book(calendar, 10)  # the copy is fresh: it books on it
        took = clock.monotonic() - began
    assert appointment.status == Appointment.Status.BOOKED
    assert took < 4
    connection.refresh_from_db()
    assert "did not answer within 1 seconds" in connection.last_error


def test_the_status_page_is_for_managers(calendar, radicale, remote, client):
    connect(calendar, remote, radicale)
    desk = StaffMemberFactory(practice=calendar.practice, role="front_desk").user
    client.force_login(desk)
    assert client.get(reverse("console-calendar-sync")).status_code == 403
    page = status_page(client, manager_of(calendar))
    assert "Dr. Lee&#x27;s calendar" in page and "Not synced yet" in page
    home = client.get(reverse("console-home")).content.decode()
    assert reverse("console-calendar-sync") in home
