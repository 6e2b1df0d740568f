"""Checkout: completing a visit offers the next one with real open times, books it in the series before the
client leaves, or leaves a dated follow-up task when they are not ready."""

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from booking import services as booking
from booking.models import Appointment, FollowUpTask
from calls.models import Outreach
from practices.models import AuditEvent
from tests.factories import AppointmentFactory, PatientFactory, ServiceFactory

SLOT = re.compile(r'name="slot" value="([^"]+)"')


def complete(client, appointment) -> str:
    """Check the visit in and complete it from the schedule, as staff do; returns where that leads."""
    client.post(reverse("console-appointment-action", args=[appointment.pk, "check_in"]))
    response = client.post(reverse("console-appointment-action", args=[appointment.pk, "complete"]))
    assert response.status_code == 302
    return response["Location"]


def offered(body: str) -> list[tuple[datetime, int]]:
    values = SLOT.findall(body)
    return [(datetime.fromisoformat(start), int(provider)) for start, _, provider in (v.partition("|") for v in values)]


def local_days(times, zone) -> list[date]:
    return [start.astimezone(zone).date() for start, _ in times]


def test_completing_a_series_visit_offers_times_in_the_series_window_and_books_one_in_the_enrollment(
    staff_client, staff, desk
):
    enrollment, zone = desk["enrollment"], desk["location"].zone
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=enrollment)
    checkout_url = reverse("console-checkout", args=[desk["appointment"].pk])
    assert complete(staff_client, desk["appointment"]) == checkout_url

    enrollment.refresh_from_db()
    # Laser every 35 days from today (Dec 2): ideal Jan 6, from Dec 30 to Jan 20.
    assert (enrollment.next_due_from, enrollment.next_due_until) == (date(2026, 12, 30), date(2027, 1, 20))
    page = staff_client.get(checkout_url)
    body = page.content.decode()
    assert page.status_code == 200 and "Laser: visit 4 of 6" in body
    times = offered(body)
    assert len(times) == 5 and all(provider == desk["provider"].pk for _, provider in times)
    assert all(date(2026, 12, 30) <= day <= date(2027, 1, 20) for day in local_days(times, zone))
    assert local_days(times, zone)[0] == date(2026, 12, 30)

    start, provider = times[1]
    response = staff_client.post(
        reverse("console-checkout-book", args=[desk["appointment"].pk]), {"slot": f"{start.isoformat()}|{provider}"}
    )
    assert response.status_code == 302 and "/console/schedule/" in response["Location"]
    booked = Appointment.objects.exclude(pk=desk["appointment"].pk).get()
    assert (booked.starts_at, booked.provider_id, booked.service, booked.patient) == (
        start,
        provider,
        desk["service"],
        desk["patient"],
    )
    assert (booked.enrollment, booked.source, booked.booked_by) == (enrollment, "staff", staff)
    # The next visit is reminded like any other: 48 h and 2 h before.
    reminders = Outreach.objects.filter(appointment=booked, kind="reminder", state="pending")
    assert sorted(r.due_at for r in reminders) == [start - timedelta(hours=48), start - timedelta(hours=2)]
    assert "Next visit booked" in staff_client.get(response["Location"]).content.decode()


def test_a_service_with_a_return_interval_offers_times_around_it(staff_client, desk):
    tox = ServiceFactory(practice=desk["practice"], name="Botox", duration_minutes=30, return_interval_days=60)
    desk["provider"].services.add(tox)
    visit = AppointmentFactory(
        practice=desk["practice"],
        location=desk["location"],
        patient=desk["patient"],
        service=tox,
        provider=desk["provider"],
        starts_at=timezone.make_aware(datetime.combine(desk["today"], time(11)), desk["location"].zone),
    )
    complete(staff_client, visit)
    body = staff_client.get(reverse("console-checkout", args=[visit.pk])).content.decode()
    # 60 days after Dec 2 is Jan 31; a week either side.
    assert "usually repeated every 60 days" in body
    days = local_days(offered(body), desk["location"].zone)
    assert days and all(date(2027, 1, 24) <= day <= date(2027, 2, 7) for day in days)
    assert days[0] == date(2027, 1, 24)

    start, provider = offered(body)[0]
    staff_client.post(reverse("console-checkout-book", args=[visit.pk]), {"slot": f"{start.isoformat()}|{provider}"})
    booked = Appointment.objects.get(service=tox, status="booked")
    assert booked.starts_at == start and booked.enrollment is None


def test_another_day_in_the_window_shows_all_its_open_times(staff_client, desk):
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=desk["enrollment"])
    complete(staff_client, desk["appointment"])
    url = reverse("console-checkout", args=[desk["appointment"].pk])
    body = staff_client.get(url, {"date": "2027-01-05"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="checkout"' in body and "<html" not in body
    days = set(local_days(offered(body), desk["location"].zone))
    assert days == {date(2027, 1, 5)} and len(offered(body)) > 5
    # A day outside the window is not offered: back to the first choices.
    outside = staff_client.get(url, {"date": "2027-03-01"}).content.decode()
    assert date(2027, 3, 1) not in local_days(offered(outside), desk["location"].zone)


def test_not_ready_creates_the_follow_up_task_due_at_the_window_start(staff_client, desk):
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=desk["enrollment"])
    complete(staff_client, desk["appointment"])
    url = reverse("console-checkout-not-ready", args=[desk["appointment"].pk])
    response = staff_client.post(url, {"reason": "Checking her travel dates"}, HTTP_HX_REQUEST="true")
    assert "a follow-up task is due Wed Dec 30" in response.content.decode()
    staff_client.post(url, {"reason": "Checking her travel dates"})  # a double click
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.NOT_READY)
    assert (task.due_on, task.reason, task.enrollment, task.patient) == (
        date(2026, 12, 30),
        "Checking her travel dates",
        desk["enrollment"],
        desk["patient"],
    )
    assert not Appointment.objects.exclude(pk=desk["appointment"].pk).exists()


def test_a_time_taken_meanwhile_gives_a_clear_error_and_fresh_times(staff_client, desk):
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=desk["enrollment"])
    complete(staff_client, desk["appointment"])
    url = reverse("console-checkout", args=[desk["appointment"].pk])
    start, provider = offered(staff_client.get(url).content.decode())[0]
    booking.appointment_book(  # someone else books that time first
        practice=desk["practice"],
        patient=PatientFactory(practice=desk["practice"], phone="+16465550111"),
        service=desk["service"],
        location=desk["location"],
        provider=desk["provider"],
        starts_at=start,
        source="sms",
    )
    pick = {"slot": f"{start.isoformat()}|{provider}"}
    book_url = reverse("console-checkout-book", args=[desk["appointment"].pk])

    with_htmx = staff_client.post(book_url, pick, HTTP_HX_REQUEST="true").content.decode()
    assert 'role="alert"' in with_htmx and "That time is not open for this provider" in with_htmx
    assert offered(with_htmx) and (start, provider) not in offered(with_htmx)

    without_js = staff_client.post(book_url, pick, follow=True).content.decode()
    assert "That time is not open for this provider" in without_js
    assert offered(without_js) and (start, provider) not in offered(without_js)
    assert Appointment.objects.filter(patient=desk["patient"], status="booked").count() == 0


def test_no_series_and_no_return_interval_says_so_and_offers_the_booking_page(staff_client, desk):
    complete(staff_client, desk["appointment"])  # HydraFacial, but not linked to the series: see below
    desk["enrollment"].delete()
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=None)
    body = staff_client.get(reverse("console-checkout", args=[desk["appointment"].pk])).content.decode()
    assert "has no usual return interval" in body and 'name="slot"' not in body
    assert f"{reverse('console-book')}?location={desk['location'].pk}&service={desk['service'].pk}" in body
    refused = staff_client.post(reverse("console-checkout-not-ready", args=[desk["appointment"].pk]), follow=True)
    assert "no next visit to follow up on" in refused.content.decode()
    assert not FollowUpTask.objects.filter(kind=FollowUpTask.Kind.NOT_READY).exists()


def test_another_practices_visit_is_404_and_untouched(staff_client, desk, other_desk):
    other = other_desk["appointment"]
    booking.appointment_check_in(appointment=other)
    booking.appointment_complete(appointment=other)
    assert staff_client.get(reverse("console-checkout", args=[other.pk])).status_code == 404
    tomorrow = timezone.make_aware(datetime.combine(desk["today"] + timedelta(days=1), time(10)), desk["location"].zone)
    slot = {"slot": f"{tomorrow.isoformat()}|{other_desk['provider'].pk}", "reason": "x"}
    assert staff_client.post(reverse("console-checkout-book", args=[other.pk]), slot).status_code == 404
    assert staff_client.post(reverse("console-checkout-not-ready", args=[other.pk]), slot).status_code == 404
    assert Appointment.objects.filter(practice=other_desk["practice"]).count() == 1
    assert not FollowUpTask.objects.filter(kind=FollowUpTask.Kind.NOT_READY).exists()


def test_a_visit_not_yet_completed_has_no_checkout(staff_client, desk):
    assert staff_client.get(reverse("console-checkout", args=[desk["appointment"].pk])).status_code == 404


def test_the_checkout_page_is_audited_and_needs_sign_in(client, staff_client, desk):
    complete(staff_client, desk["appointment"])
    url = reverse("console-checkout", args=[desk["appointment"].pk])
    staff_client.get(url)
    event = AuditEvent.objects.get(what="checkout")
    assert event.object_id == str(desk["appointment"].pk) and event.practice == desk["practice"]
    assert "/accounts/login/" in Client().get(url)["Location"]


def test_checkout_forms_need_the_csrf_token(staff, desk):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(staff)
    booking.appointment_check_in(appointment=desk["appointment"])
    booking.appointment_complete(appointment=desk["appointment"])
    url = reverse("console-checkout-not-ready", args=[desk["appointment"].pk])
    assert csrf_client.post(url, {"reason": "x"}).status_code == 403
    page = csrf_client.get(reverse("console-checkout", args=[desk["appointment"].pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert csrf_client.post(url, {"reason": "x", "csrfmiddlewaretoken": token}).status_code == 302


@pytest.mark.parametrize("action", ["check_in", "no_show", "confirm"])
def test_other_visit_actions_still_go_back_to_the_schedule(staff_client, desk, action):
    response = staff_client.post(reverse("console-appointment-action", args=[desk["appointment"].pk, action]))
    assert "/console/schedule/" in response["Location"]


def test_what_patients_wrote_is_escaped_on_the_checkout_page(staff_client, desk):
    desk["patient"].first_name = "<img src=x onerror=alert(1)>"
    desk["patient"].save(update_fields=["first_name"])
    complete(staff_client, desk["appointment"])
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        body = staff_client.get(reverse("console-checkout", args=[desk["appointment"].pk]), **headers).content.decode()
        assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img src=x" not in body
