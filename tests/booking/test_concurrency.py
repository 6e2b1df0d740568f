"""Many patients racing for one time, each on its own database connection: exactly one wins.

PostgreSQL only: SQLite serialises writers (immediate transactions), so there is no race to lose there.
"""

import threading

import pytest
from django.db import connection, connections

from booking import services
from booking.models import Appointment
from tests.booking.conftest import build_calendar
from tests.factories import PatientFactory

RACERS = 12

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent connections and exclusion constraints")


def race(calls) -> list[object]:
    """Run each call on its own thread and connection, all released at once; return what each did."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # the outcome is what we assert on
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_many_concurrent_bookings_of_one_slot_give_exactly_one_appointment():
    calendar = build_calendar()
    patients = [PatientFactory(practice=calendar.practice) for _ in range(RACERS)]
    start = calendar.at(10)

    def booking_for(patient):
        return lambda: services.appointment_book(
            practice=calendar.practice,
            patient=patient,
            service=calendar.service,
            location=calendar.location,
            provider=calendar.provider,
            starts_at=start,
            source="sms",
        )

    results = race([booking_for(patient) for patient in patients])
    won = [result for result in results if isinstance(result, Appointment)]
    lost = [result for result in results if isinstance(result, services.SlotUnavailable)]
    assert len(won) == 1, results
    assert len(lost) == RACERS - 1, results
    assert Appointment.objects.filter(provider=calendar.provider, starts_at=start).count() == 1


def test_concurrent_bookings_of_different_providers_for_one_room_give_exactly_one():
    calendar = build_calendar()
    room = calendar.add_room(capacity=1)
    providers = [calendar.provider] + [calendar.add_provider() for _ in range(5)]
    patients = [PatientFactory(practice=calendar.practice) for _ in providers]
    start = calendar.at(14)

    def booking_for(provider, patient):
        return lambda: services.appointment_book(
            practice=calendar.practice,
            patient=patient,
            service=calendar.service,
            location=calendar.location,
            provider=provider,
            starts_at=start,
            source="sms",
        )

    results = race([booking_for(provider, patient) for provider, patient in zip(providers, patients, strict=True)])
    assert sum(isinstance(result, Appointment) for result in results) == 1, results
    assert all(isinstance(r, (Appointment, services.SlotUnavailable)) for r in results), results
    assert Appointment.objects.filter(resource=room, starts_at=start).count() == 1
