import re
from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from booking import services
from booking.models import Appointment, SeriesEnrollment, SeriesTemplate
from practices.models import Service
from tests.factories import (
    AppointmentFactory,
    PatientFactory,
    PracticeFactory,
    ServiceFactory,
    StaffMemberFactory,
)


@pytest.fixture
def api(calendar):
    user = StaffMemberFactory(practice=calendar.practice, role="front_desk").user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def create_body(calendar, start, patient=None):
    return {
        "patient": (patient or calendar.patient).pk,
        "service": calendar.service.pk,
        "location": calendar.location.pk,
        "provider": calendar.provider.pk,
        "starts_at": start.isoformat(),
    }


def test_availability_lists_open_times_in_the_locations_zone(api, calendar):
    response = api.get(
        "/api/v1/availability/",
        {
            "service": calendar.service.slug,
            "location": calendar.location.pk,
            "start": calendar.day.isoformat(),
            "days": 1,
        },
    )
    assert response.status_code == 200, response.content
    slots = response.json()["slots"]
    assert slots[0]["start"] == calendar.at(9).isoformat()
    assert slots[-1]["start"] == calendar.at(15, 45).isoformat()  # the visit and its buffer end by 17:00
    assert len(slots) == 28
    assert response.json()["consultation_first"] is False


def test_availability_with_choices_and_preferences(api, calendar):
    response = api.get(
        "/api/v1/availability/",
        {
            "service": calendar.service.pk,
            "start": calendar.day.isoformat(),
            "days": 10,
            "choices": 3,
            "part_of_day": "afternoon",
        },
    )
    slots = response.json()["slots"]
    assert [slot["start"][:10] for slot in slots] == [(calendar.day + timedelta(days=n)).isoformat() for n in range(3)]
    assert all("T12:00:00" in slot["start"] for slot in slots)


def test_availability_offers_a_new_patient_the_consultation(api, calendar):
    consultation = ServiceFactory(practice=calendar.practice, category=Service.Category.CONSULTATION)
    consultation.providers.add(calendar.provider)
    Service.objects.filter(pk=calendar.service.pk).update(consultation_required_for_new=True)
    response = api.get(
        "/api/v1/availability/",
        {
            "service": calendar.service.slug,
            "patient": calendar.patient.pk,
            "start": calendar.day.isoformat(),
            "days": 1,
        },
    )
    body = response.json()
    assert body["consultation_first"] is True
    assert body["service"]["id"] == consultation.pk and body["requested_service"]["id"] == calendar.service.pk
    assert body["slots"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"service": "no-such"}, "service"),
        ({"service": "x", "days": 0}, "days"),
        ({"service": "x", "weekdays": "mon"}, "weekdays"),
        ({"service": "x", "start": "tomorrow"}, "start"),
    ],
)
def test_availability_explains_a_bad_query(api, calendar, params, field):
    response = api.get("/api/v1/availability/", params)
    assert response.status_code == 400
    assert field in response.json()


def test_create_books_and_the_same_slot_again_is_a_409(api, calendar):
    first = api.post("/api/v1/appointments/", create_body(calendar, calendar.at(10)), format="json")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "booked" and first.json()["source"] == "api"
    again = api.post(
        "/api/v1/appointments/", create_body(calendar, calendar.at(10), calendar.other_patient), format="json"
    )
    assert again.status_code == 409
    assert "not open" in again.json()["detail"] or "taken" in again.json()["detail"]
    assert Appointment.objects.count() == 1


def test_create_refuses_another_practices_patient_and_a_time_without_offset(api, calendar):
    stranger = PatientFactory(practice=PracticeFactory())
    response = api.post("/api/v1/appointments/", create_body(calendar, calendar.at(10), stranger), format="json")
    assert response.status_code == 400 and "patient" in response.json()
    body = create_body(calendar, calendar.at(10)) | {"starts_at": "2026-12-01T10:00:00"}
    response = api.post("/api/v1/appointments/", body, format="json")
    assert response.status_code == 400 and "starts_at" in response.json()
    assert not Appointment.objects.exists()


def test_reschedule_into_a_taken_slot_is_a_409_and_cancel_frees_it(api, calendar):
    ours = api.post("/api/v1/appointments/", create_body(calendar, calendar.at(10)), format="json").json()
    theirs = api.post(
        "/api/v1/appointments/", create_body(calendar, calendar.at(13), calendar.other_patient), format="json"
    ).json()
    taken = api.post(
        f"/api/v1/appointments/{ours['id']}/reschedule/", {"starts_at": calendar.at(13).isoformat()}, format="json"
    )
    assert taken.status_code == 409
    assert Appointment.objects.get(pk=ours["id"]).starts_at == calendar.at(10)
    cancelled = api.post(f"/api/v1/appointments/{theirs['id']}/cancel/", {"reason": "Work"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    moved = api.post(
        f"/api/v1/appointments/{ours['id']}/reschedule/", {"starts_at": calendar.at(13).isoformat()}, format="json"
    )
    assert moved.status_code == 200
    assert Appointment.objects.get(pk=ours["id"]).starts_at == calendar.at(13)


def test_list_by_day_location_and_provider(api, calendar):
    services.appointment_book(
        practice=calendar.practice,
        patient=calendar.patient,
        service=calendar.service,
        location=calendar.location,
        provider=calendar.provider,
        starts_at=calendar.at(10),
        source="staff",
    )
    other = calendar.add_provider()
    rows = api.get("/api/v1/appointments/", {"date": calendar.day.isoformat()}).json()
    assert len(rows) == 1 and rows[0]["provider"] == calendar.provider.pk
    assert api.get("/api/v1/appointments/", {"date": calendar.day.isoformat(), "provider": other.pk}).json() == []
    assert (
        len(
            api.get(
                "/api/v1/appointments/", {"date": calendar.day.isoformat(), "location": calendar.location.pk}
            ).json()
        )
        == 1
    )


def test_another_practices_appointment_is_a_404_everywhere(api, calendar):
    foreign = AppointmentFactory(starts_at=calendar.at(10))
    for method, url in [
        ("get", f"/api/v1/appointments/{foreign.pk}/"),
        ("get", f"/api/v1/appointments/{foreign.pk}/calendar.ics"),
        ("post", f"/api/v1/appointments/{foreign.pk}/cancel/"),
        ("post", f"/api/v1/appointments/{foreign.pk}/reschedule/"),
    ]:
        response = (
            getattr(api, method)(url, {"starts_at": calendar.at(11).isoformat()}, format="json")
            if method == "post"
            else api.get(url)
        )
        assert response.status_code == 404, url
    foreign.refresh_from_db()
    assert foreign.status == "booked"
    rows = api.get("/api/v1/appointments/", {"date": calendar.day.isoformat()}).json()
    assert rows == []


def test_the_calendar_file_downloads(api, calendar):
    created = api.post("/api/v1/appointments/", create_body(calendar, calendar.at(10)), format="json").json()
    response = api.get(f"/api/v1/appointments/{created['id']}/calendar.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in response.content and b"TZID=America/New_York" in response.content


def test_series_enrollments_with_status_filter(api, calendar):
    template = SeriesTemplate.objects.create(
        practice=calendar.practice, name="Tox", service=calendar.service, visits=1, interval_days=90
    )
    services.enrollment_start(patient=calendar.patient, template=template)
    SeriesEnrollment.objects.create(practice=PracticeFactory(), patient=PatientFactory(), template=template)
    rows = api.get("/api/v1/series-enrollments/").json()
    assert [row["patient"] for row in rows] == [calendar.patient.pk]
    assert api.get("/api/v1/series-enrollments/", {"status": "late"}).json() == []
    assert api.get("/api/v1/series-enrollments/", {"status": "nope"}).status_code == 400


def test_the_api_needs_a_practice_account(calendar, client, django_user_model):
    assert APIClient().get("/api/v1/appointments/").status_code in (401, 403)
    loner = django_user_model.objects.create_user("loner", password="a-long-password-1")
    api = APIClient()
    api.force_authenticate(loner)
    assert api.get("/api/v1/appointments/").status_code == 403


def test_the_schema_and_docs_are_served_without_a_cdn(client, calendar, front_desk):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/availability/" in schema.content and b"/webhooks/" not in schema.content
    client.force_login(front_desk)
    docs = client.get("/api/docs/").content.decode()
    external = [url for url in re.findall(r'(?:src|href)="([^"]+)"', docs) if url.startswith(("http:", "https:", "//"))]
    assert external == []
