from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from booking import services
from booking.models import Appointment
from booking.selectors import open_slots
from tests.factories import AppointmentFactory, PatientFactory, PracticeFactory


def book(calendar, start, *, patient=None, provider=None, **kwargs):
    return services.appointment_book(
        practice=calendar.practice,
        patient=patient or calendar.patient,
        service=calendar.service,
        location=calendar.location,
        provider=provider or calendar.provider,
        starts_at=start,
        source="staff",
        **kwargs,
    )


def test_booking_an_open_time_holds_the_provider_through_the_buffer(calendar):
    appointment = book(calendar, calendar.at(10))
    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.ends_at == calendar.at(11)
    assert appointment.blocks_until == calendar.at(11, 15)


def test_it_refuses_a_second_booking_of_the_same_slot(calendar):
    book(calendar, calendar.at(10))
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10), patient=calendar.other_patient)
    assert Appointment.objects.count() == 1


def test_it_refuses_a_start_inside_the_previous_visits_buffer_and_accepts_one_after_it(calendar):
    book(calendar, calendar.at(10))
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(11), patient=calendar.other_patient)
    assert book(calendar, calendar.at(11, 15), patient=calendar.other_patient).starts_at == calendar.at(11, 15)


def test_it_refuses_a_visit_whose_buffer_would_run_into_the_next_visit(calendar):
    book(calendar, calendar.at(11))
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10), patient=calendar.other_patient)  # 10:00-11:00, its buffer runs to 11:15
    # 9:45-10:45, buffer to 11:00: ends exactly as the next visit starts.
    assert book(calendar, calendar.at(9, 45), patient=calendar.other_patient).blocks_until == calendar.at(11)


def test_it_refuses_times_outside_hours_off_the_grid_or_in_the_past(calendar):
    for start in (calendar.at(8), calendar.at(16, 30), calendar.at(10, 7)):
        with pytest.raises(services.SlotUnavailable):
            book(calendar, start)
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10) - timedelta(days=8))


def test_it_refuses_a_provider_who_does_not_perform_the_service(calendar):
    outsider = calendar.add_provider()
    outsider.services.clear()
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10), provider=outsider)


def test_it_refuses_rows_of_another_practice(calendar):
    stranger = PatientFactory(practice=PracticeFactory())
    with pytest.raises(services.BookingError, match="another practice"):
        book(calendar, calendar.at(10), patient=stranger)


def test_cancel_frees_the_slot(calendar):
    appointment = book(calendar, calendar.at(10))
    services.appointment_cancel(appointment=appointment, reason="Work conflict")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancellation_reason) == ("cancelled", "Work conflict")
    assert calendar.at(10) in [
        slot.start
        for slot in open_slots(
            service=calendar.service, location=calendar.location, start=calendar.at(9), end=calendar.at(17)
        )
    ]
    assert book(calendar, calendar.at(10), patient=calendar.other_patient).status == "booked"


def test_cancelling_twice_changes_nothing(calendar):
    appointment = book(calendar, calendar.at(10))
    first = services.appointment_cancel(appointment=appointment, reason="first")
    again = services.appointment_cancel(appointment=appointment, reason="second")
    assert again.appointment.cancellation_reason == "first"
    assert first.appointment.cancelled_at == again.appointment.cancelled_at


def test_reschedule_into_a_taken_slot_fails_and_leaves_the_original_untouched(calendar):
    ours = book(calendar, calendar.at(10))
    book(calendar, calendar.at(13), patient=calendar.other_patient)
    before = Appointment.objects.filter(pk=ours.pk).values().get()
    with pytest.raises(services.SlotUnavailable):
        services.appointment_reschedule(appointment=ours, starts_at=calendar.at(13))
    assert Appointment.objects.filter(pk=ours.pk).values().get() == before


def test_reschedule_can_move_a_visit_within_its_own_time(calendar):
    ours = book(calendar, calendar.at(10))
    moved = services.appointment_reschedule(appointment=ours, starts_at=calendar.at(10, 30))
    assert (moved.starts_at, moved.blocks_until) == (calendar.at(10, 30), calendar.at(11, 45))
    assert calendar.at(9) in [
        s.start
        for s in open_slots(
            service=calendar.service, location=calendar.location, start=calendar.at(9), end=calendar.at(9, 1)
        )
    ]


def test_a_room_with_capacity_one_refuses_a_second_provider_at_the_same_time(calendar):
    calendar.add_room(capacity=1)
    second = calendar.add_provider()
    book(calendar, calendar.at(10))
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10), patient=calendar.other_patient, provider=second)


def test_a_room_with_capacity_two_takes_two_visits_and_refuses_a_third(calendar):
    room = calendar.add_room(capacity=2)
    second, third = calendar.add_provider(), calendar.add_provider()
    first_visit = book(calendar, calendar.at(10))
    second_visit = book(calendar, calendar.at(10), patient=calendar.other_patient, provider=second)
    assert {first_visit.resource_unit, second_visit.resource_unit} == {1, 2}
    assert first_visit.resource == second_visit.resource == room
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10), patient=PatientFactory(practice=calendar.practice), provider=third)


def test_status_moves_follow_the_front_desk_day(calendar):
    appointment = book(calendar, calendar.at(10))
    services.appointment_confirm(appointment=appointment)
    services.appointment_check_in(appointment=appointment)
    completed = services.appointment_complete(appointment=appointment)
    assert completed.status == "completed" and completed.completed_at is not None
    with pytest.raises(services.InvalidTransition):
        services.appointment_cancel(appointment=completed)
    with pytest.raises(services.InvalidTransition):
        services.appointment_no_show(appointment=completed)


def test_the_database_refuses_overlapping_visits_for_one_provider(calendar, postgres_only):
    AppointmentFactory(
        practice=calendar.practice,
        location=calendar.location,
        service=calendar.service,
        provider=calendar.provider,
        patient=calendar.patient,
        starts_at=calendar.at(10),
    )
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        AppointmentFactory(
            practice=calendar.practice,
            location=calendar.location,
            service=calendar.service,
            provider=calendar.provider,
            patient=calendar.other_patient,
            starts_at=calendar.at(10, 30),
        )
    assert "appointment_provider_no_overlap" in str(caught.value)


def test_the_database_refuses_overlapping_visits_in_one_room_unit(calendar, postgres_only):
    room = calendar.add_room()
    second = calendar.add_provider()
    common = {
        "practice": calendar.practice,
        "location": calendar.location,
        "service": calendar.service,
        "resource": room,
        "resource_unit": 1,
    }
    AppointmentFactory(provider=calendar.provider, patient=calendar.patient, starts_at=calendar.at(10), **common)
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        AppointmentFactory(provider=second, patient=calendar.other_patient, starts_at=calendar.at(10), **common)
    assert "appointment_resource_no_overlap" in str(caught.value)


def test_a_cancelled_visit_does_not_block_the_database_constraint(calendar, postgres_only):
    AppointmentFactory(
        practice=calendar.practice,
        location=calendar.location,
        service=calendar.service,
        provider=calendar.provider,
        patient=calendar.patient,
        starts_at=calendar.at(10),
        status="cancelled",
    )
    AppointmentFactory(
        practice=calendar.practice,
        location=calendar.location,
        service=calendar.service,
        provider=calendar.provider,
        patient=calendar.other_patient,
        starts_at=calendar.at(10),
    )
    assert Appointment.objects.count() == 2


def test_on_sqlite_the_booking_transaction_is_the_guard(calendar):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite-specific: PostgreSQL has the exclusion constraints")
    book(calendar, calendar.at(10))
    with pytest.raises(services.SlotUnavailable):
        book(calendar, calendar.at(10, 15), patient=calendar.other_patient)
