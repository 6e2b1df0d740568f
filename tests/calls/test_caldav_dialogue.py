"""The receptionist by text, with the nurse's own calendar connected (a real CalDAV server on loopback):
a time someone takes in that calendar after it was offered is never booked; the patient gets other times."""

from datetime import datetime
from types import SimpleNamespace

from booking.caldav_sync import connection_sync
from booking.models import Appointment
from calls.models import Conversation
from tests.booking import caldav_server
from tests.calls import test_dialogue
from tests.calls.test_dialogue import Patient, offered_times
from tests.factories import PatientFactory

# Fixtures from elsewhere, under this module: the Radicale server and the dialogue tests' spa.
radicale = caldav_server.radicale
spa = test_dialogue.spa


def test_a_time_taken_in_the_nurses_calendar_after_it_was_offered_is_not_booked(spa, twilio, outbox, radicale):
    practice = spa["line"].practice
    PatientFactory(practice=practice, phone="+16465550188", is_returning=True)
    remote = radicale.new_calendar()
    connection = caldav_server.connect(SimpleNamespace(practice=practice, provider=spa["nurse"]), remote, radicale)
    assert connection_sync(connection_id=connection.pk).ok
    patient = Patient(twilio, outbox)
    patient.text("any tox openings saturday morning?")
    first = offered_times(Conversation.objects.get())[0]
    assert first == datetime(2026, 12, 5, 9, 0, tzinfo=spa["line"].location.zone)
    # The front desk gives 9:00 to a walk-in in the nurse's calendar before the patient answers.
    remote.save_event(
        caldav_server.vevent(
            "walk-in", ";TZID=America/New_York:20261205T090000", ";TZID=America/New_York:20261205T093000", "Walk-in"
        )
    )

    reply = patient.text("the first one")

    assert "that time was just taken" in reply
    assert not Appointment.objects.exists()
    again = offered_times(Conversation.objects.get())
    assert again and first not in again
    patient.text("1")
    booked = Appointment.objects.get()
    assert booked.starts_at == again[0] and booked.starts_at >= first.replace(hour=9, minute=30)
