"""The .ics attachment of a confirmation, in the location's own time zone."""

from icalendar import Calendar, Event, vText

from .models import Appointment


def appointment_ics(appointment: Appointment, *, dtstamp=None) -> bytes:
    """An iCalendar file for one visit: start and end carry the location's TZID with its VTIMEZONE,
    so a phone in another zone still shows the right local time. Cancelled visits are sent as
    cancelled (METHOD:CANCEL), so calendars remove them."""
    practice = appointment.practice
    location = appointment.location
    cancelled = appointment.status == Appointment.Status.CANCELLED

    calendar = Calendar()
    calendar.add("prodid", "-//Med spa receptionist//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")

    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@{practice.slug}.receptionist")
    event.add("dtstamp", dtstamp or appointment.updated_at)
    event.add("dtstart", appointment.local_start)
    event.add("dtend", appointment.local_end)
    event.add("summary", f"{appointment.service.name} at {practice.brand_name}")
    event.add("location", vText(location.address))
    description = [f"With {appointment.provider.display_name}."]
    if appointment.service.prep_instructions:
        description.append(f"Before your visit: {appointment.service.prep_instructions}")
    description.append(f"To reschedule or cancel, reply to our text or call {location.phone}.")
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", int(appointment.updated_at.timestamp()) if appointment.updated_at else 0)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
