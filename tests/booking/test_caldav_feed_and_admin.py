"""The provider's read-only iCalendar feed at a secret, revocable address, and setting up a calendar
connection in the admin with a real "test connection" against Radicale."""

import icalendar
import pytest
from cryptography.fernet import Fernet
from django.contrib.messages import get_messages
from django.urls import reverse

from booking import crypto, services
from booking.caldav_sync import our_uid
from booking.models import CalendarConnection, ProviderFeed
from tests.booking.caldav_server import PASSWORD, connect
from tests.factories import StaffMemberFactory


def book(calendar, hour: int):
    return services.appointment_book(
        practice=calendar.practice,
        patient=calendar.patient,
        service=calendar.service,
        location=calendar.location,
        provider=calendar.provider,
        starts_at=calendar.at(hour),
        source="sms",
    )


@pytest.fixture
def manager_client(client, calendar):
    client.force_login(StaffMemberFactory(practice=calendar.practice, role="manager").user)
    return client


def test_the_feed_parses_with_icalendar_and_never_lists_cancelled_visits(client, calendar):
    calendar.patient.first_name, calendar.patient.last_name = "Maria", "Quintero"
    calendar.patient.save()
    kept, cancelled = book(calendar, 10), book(calendar, 14)
    services.appointment_cancel(appointment=cancelled, reason="Sick")
    feed = ProviderFeed.objects.create(practice=calendar.practice, provider=calendar.provider)

    response = client.get(reverse("calendar-feed", args=[feed.token]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(response.content)
    events = list(parsed.walk("VEVENT"))
    assert [str(event["UID"]) for event in events] == [our_uid(kept, calendar.practice.slug)]
    assert str(events[0]["SUMMARY"]) == f"{calendar.service.name} - Maria"
    assert events[0]["DTSTART"].dt == calendar.at(10)
    assert parsed.walk("VTIMEZONE"), "the feed carries its time zone"
    body = response.content.decode()
    assert "Quintero" not in body and str(calendar.patient.phone)[2:] not in body


def test_a_new_address_revokes_the_old_one_and_an_unknown_or_turned_off_one_is_not_found(
    client, manager_client, calendar
):
    book(calendar, 10)
    feed = ProviderFeed.objects.create(practice=calendar.practice, provider=calendar.provider)
    old = reverse("calendar-feed", args=[feed.token])
    assert client.get(old).status_code == 200

    response = manager_client.post(
        reverse("admin:booking_providerfeed_changelist"),
        {"action": "rotate_selected", "_selected_action": [feed.pk]},
    )

    assert response.status_code == 302
    feed.refresh_from_db()
    assert client.get(old).status_code == 404
    assert client.get(reverse("calendar-feed", args=[feed.token])).status_code == 200
    assert client.get(reverse("calendar-feed", args=["no-such-token"])).status_code == 404
    ProviderFeed.objects.filter(pk=feed.pk).update(is_active=False)
    assert client.get(reverse("calendar-feed", args=[feed.token])).status_code == 404
    change = manager_client.get(reverse("admin:booking_providerfeed_change", args=[feed.pk])).content.decode()
    assert f"/calendar/feed/{feed.token}.ics" in change


def connection_form(calendar, radicale, **overrides) -> dict:
    return {
        "name": "Dr. Lee's iCloud",
        "provider": calendar.provider.pk,
        "server_url": radicale.url,
        "username": radicale.username,
        "app_password": PASSWORD,
        "calendar_url": "",
        "is_active": "on",
        "write_appointments": "on",
        "event_details": "service_first_name",
        "all_day_events": "busy",
        "max_staleness_minutes": "10",
        **overrides,
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_admin_saves_a_connection_with_its_password_encrypted_and_tests_it(manager_client, calendar, radicale):
    named = radicale.new_calendar()

    response = manager_client.post(
        reverse("admin:booking_calendarconnection_add"),
        {**connection_form(calendar, radicale), "_test_connection": "Save and test connection"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    connection = CalendarConnection.objects.get()
    assert connection.practice == calendar.practice
    assert PASSWORD not in connection.password_encrypted
    assert crypto.decrypt(connection.password_encrypted) == PASSWORD
    reported = " ".join(messages_of(response))
    assert "connected. Calendars found:" in reported and str(named.url) in reported
    page = manager_client.get(reverse("admin:booking_calendarconnection_change", args=[connection.pk]))
    assert PASSWORD not in page.content.decode()
    assert "Save and test connection" in page.content.decode()

    # Saving again without a password keeps the saved one.
    form = connection_form(calendar, radicale, app_password="", calendar_url=str(named.url))
    response = manager_client.post(reverse("admin:booking_calendarconnection_change", args=[connection.pk]), form)
    assert response.status_code == 302
    connection.refresh_from_db()
    assert crypto.decrypt(connection.password_encrypted) == PASSWORD and connection.calendar_url == str(named.url)


def test_test_connection_says_what_is_wrong_in_plain_words(manager_client, calendar, radicale, remote):
    connection = connect(calendar, remote, radicale, password="wrong")

    response = manager_client.post(
        reverse("admin:booking_calendarconnection_changelist"),
        {"action": "test_selected", "_selected_action": [connection.pk]},
    )

    assert "refused the username or app password" in " ".join(messages_of(response))


def test_a_connection_belongs_to_exactly_one_owner_of_the_same_practice(manager_client, calendar, radicale):
    response = manager_client.post(
        reverse("admin:booking_calendarconnection_add"),
        connection_form(calendar, radicale, location=calendar.location.pk),
    )
    assert response.status_code == 200
    assert "exactly one of a provider, a location or a room" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_passwords_use_the_configured_key_and_what_was_saved_before_still_reads(settings):
    before = crypto.encrypt("first")
    settings.CALENDAR_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    after = crypto.encrypt("second")
    assert crypto.decrypt(before) == "first" and crypto.decrypt(after) == "second"
    settings.CALENDAR_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.SECRET_KEY = "another-secret-key-entirely"
    with pytest.raises(crypto.UnreadableSecret):
        crypto.decrypt(after)
