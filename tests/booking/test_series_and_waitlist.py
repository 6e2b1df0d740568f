from datetime import date, timedelta

import pytest
from django.utils import timezone

from booking import services
from booking.models import FollowUpTask, SeriesEnrollment, SeriesTemplate
from booking.selectors import service_to_offer, waitlist_matches
from booking.tasks import series_sweep_all
from practices.models import Service
from tests.factories import AppointmentFactory, PatientFactory, ServiceFactory


@pytest.fixture
def template(calendar):
    return SeriesTemplate.objects.create(
        practice=calendar.practice,
        name="Laser, 3 visits",
        service=calendar.service,
        visits=3,
        interval_days=35,
        early_days=7,
        late_days=7,
    )


def book(calendar, start, **kwargs):
    kwargs.setdefault("patient", calendar.patient)
    return services.appointment_book(
        practice=calendar.practice,
        service=calendar.service,
        location=calendar.location,
        provider=calendar.provider,
        starts_at=start,
        source="staff",
        **kwargs,
    )


def test_completing_a_series_visit_advances_the_enrollment_and_sets_the_next_window(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    visit = book(calendar, calendar.at(10), enrollment=enrollment)
    services.appointment_complete(appointment=visit, now=calendar.at(11))
    enrollment.refresh_from_db()
    assert enrollment.visits_done == 1
    assert enrollment.last_visit_on == calendar.day
    assert (enrollment.next_due_from, enrollment.next_due_on, enrollment.next_due_until) == (
        calendar.day + timedelta(days=28),
        calendar.day + timedelta(days=35),
        calendar.day + timedelta(days=42),
    )
    assert enrollment.status == SeriesEnrollment.Status.ON_CADENCE
    calendar.patient.refresh_from_db()
    assert calendar.patient.is_returning


def test_completing_twice_counts_one_visit(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    visit = book(calendar, calendar.at(10), enrollment=enrollment)
    services.appointment_complete(appointment=visit)
    services.appointment_complete(appointment=visit)
    enrollment.refresh_from_db()
    assert enrollment.visits_done == 1


def test_a_visit_of_the_series_service_finds_its_open_enrollment(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    visit = book(calendar, calendar.at(10))
    services.appointment_complete(appointment=visit)
    visit.refresh_from_db()
    enrollment.refresh_from_db()
    assert visit.enrollment == enrollment and enrollment.visits_done == 1


def test_the_last_visit_completes_the_series(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    SeriesEnrollment.objects.filter(pk=enrollment.pk).update(visits_done=2)
    services.appointment_complete(appointment=book(calendar, calendar.at(10), enrollment=enrollment))
    enrollment.refresh_from_db()
    assert enrollment.status == SeriesEnrollment.Status.COMPLETED
    assert enrollment.next_due_on is None


def test_a_repeating_series_starts_over_after_its_visit(calendar):
    tox = SeriesTemplate.objects.create(
        practice=calendar.practice,
        name="Tox",
        service=calendar.service,
        visits=1,
        repeats=True,
        interval_days=90,
        early_days=14,
        late_days=21,
    )
    enrollment = services.enrollment_start(patient=calendar.patient, template=tox)
    services.appointment_complete(appointment=book(calendar, calendar.at(10), enrollment=enrollment))
    enrollment.refresh_from_db()
    assert enrollment.status == SeriesEnrollment.Status.ON_CADENCE
    assert enrollment.next_due_on == calendar.day + timedelta(days=90)


@pytest.mark.parametrize(
    ("days_after_window_opens", "expected"),
    [(-1, "on_cadence"), (0, "due"), (14, "due"), (15, "late"), (60, "late")],
)
def test_cadence_status_by_day(calendar, template, days_after_window_opens, expected):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    first_visit = date(2026, 6, 1)
    services.enrollment_record_visit(enrollment=enrollment, visit_day=first_visit, today=first_visit)
    enrollment.refresh_from_db()
    window_opens = first_visit + timedelta(days=28)  # 35 days, 7 early; 7 late: closes on day 42
    services.series_sweep(practice=calendar.practice, today=window_opens + timedelta(days=days_after_window_opens))
    enrollment.refresh_from_db()
    assert enrollment.status == expected
    if expected == "late":
        assert enrollment.days_overdue(window_opens + timedelta(days=days_after_window_opens)) == (
            days_after_window_opens - 14
        )


def test_a_late_patient_with_a_booked_next_visit_is_on_cadence(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    SeriesEnrollment.objects.filter(pk=enrollment.pk).update(
        status="late", next_due_from=date(2026, 1, 1), next_due_until=date(2026, 1, 15)
    )
    book(calendar, calendar.at(10))
    services.series_sweep(practice=calendar.practice, today=timezone.localdate())
    enrollment.refresh_from_db()
    assert enrollment.status == SeriesEnrollment.Status.ON_CADENCE


def test_paused_and_completed_series_are_left_alone_by_the_sweep(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    SeriesEnrollment.objects.filter(pk=enrollment.pk).update(status="paused", next_due_until=date(2026, 1, 1))
    assert series_sweep_all()[str(calendar.practice.pk)] == {}
    enrollment.refresh_from_db()
    assert enrollment.status == "paused"


def test_a_cancelled_series_visit_creates_one_recovery_item(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    visit = book(calendar, calendar.at(10), enrollment=enrollment)
    outcome = services.appointment_cancel(appointment=visit, reason="Childcare fell through")
    services.appointment_cancel(appointment=visit, reason="again")
    task = FollowUpTask.objects.get()
    assert outcome.recovery_task == task
    assert (task.kind, task.patient, task.enrollment, task.reason) == (
        "cancellation_recovery",
        calendar.patient,
        enrollment,
        "Childcare fell through",
    )


def test_a_cancelled_visit_outside_a_series_creates_no_recovery_item(calendar):
    services.appointment_cancel(appointment=book(calendar, calendar.at(10)))
    assert not FollowUpTask.objects.exists()


def test_a_patient_not_ready_to_book_gets_a_dated_follow_up(calendar, template):
    enrollment = services.enrollment_start(patient=calendar.patient, template=template)
    task = services.follow_up_create(
        patient=calendar.patient, kind="not_ready", due_on=date(2026, 12, 5), reason="Traveling", enrollment=enrollment
    )
    enrollment.refresh_from_db()
    assert (task.due_on, task.status) == (date(2026, 12, 5), "open")
    assert enrollment.last_contact_outcome == "Traveling"


def test_a_freed_slot_yields_the_waitlisted_patients_it_fits_best_first(calendar):
    day = calendar.day
    other_service = ServiceFactory(practice=calendar.practice)
    wanted = {}
    for name, kwargs in {
        "any_provider_first_come": {},
        "this_provider": {"provider": calendar.provider},
        "any_provider_later": {},
        "other_service": {"service": other_service},
        "window_over": {"earliest_on": day - timedelta(days=10), "latest_on": day - timedelta(days=1)},
        "wrong_weekday": {"weekdays": [(day.weekday() + 1) % 7]},
        "evenings_only": {"parts_of_day": ["evening"]},
        "mornings": {"parts_of_day": ["morning"], "weekdays": [day.weekday()]},
    }.items():
        params = {
            "patient": PatientFactory(practice=calendar.practice),
            "service": calendar.service,
            "earliest_on": day - timedelta(days=1),
            "latest_on": day + timedelta(days=1),
        } | kwargs
        wanted[name] = services.waitlist_add(**params)
    freed = book(calendar, calendar.at(10))
    outcome = services.appointment_cancel(appointment=freed)
    names = {entry.pk: name for name, entry in wanted.items()}
    assert [names[entry.pk] for entry in outcome.waitlist] == [
        "this_provider",
        "any_provider_first_come",
        "any_provider_later",
        "mornings",
    ]
    assert waitlist_matches(appointment=freed) == outcome.waitlist


def test_a_new_patient_is_offered_the_consultation_first(calendar):
    consultation = ServiceFactory(practice=calendar.practice, category=Service.Category.CONSULTATION)
    Service.objects.filter(pk=calendar.service.pk).update(consultation_required_for_new=True)
    calendar.service.refresh_from_db()
    newcomer = PatientFactory(practice=calendar.practice, is_returning=False)
    assert service_to_offer(service=calendar.service, patient=newcomer) == consultation
    assert service_to_offer(service=calendar.service, patient=None) == consultation
    returning = PatientFactory(practice=calendar.practice, is_returning=True)
    assert service_to_offer(service=calendar.service, patient=returning) == calendar.service
    AppointmentFactory(
        practice=calendar.practice,
        patient=newcomer,
        location=calendar.location,
        service=consultation,
        provider=calendar.provider,
        starts_at=calendar.at(9) - timedelta(days=30),
        status="completed",
    )
    assert service_to_offer(service=calendar.service, patient=newcomer) == calendar.service


def test_a_service_that_needs_no_consultation_is_offered_as_is(calendar):
    newcomer = PatientFactory(practice=calendar.practice)
    assert service_to_offer(service=calendar.service, patient=newcomer) == calendar.service
