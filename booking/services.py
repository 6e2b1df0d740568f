"""Actions on the calendar. Booking never sends a message: it only knows the calendar."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from practices.models import Campaign, Location, Patient, Practice, Provider, Resource, Service

from . import caldav_sync
from .models import (
    Appointment,
    CalendarConnection,
    ExternalOccurrence,
    FollowUpTask,
    SeriesEnrollment,
    SeriesTemplate,
    WaitlistEntry,
)
from .selectors import open_slots, waitlist_matches


class BookingError(Exception):
    """A booking action that cannot be done; the message is fit to show staff and API callers."""


class SlotUnavailable(BookingError):
    pass


class InvalidTransition(BookingError):
    pass


class CalendarTaken(SlotUnavailable):
    """The practice's own calendar has something at that time that our copy did not have yet."""


class CalendarUnverified(SlotUnavailable):
    """A connected calendar could not be checked and our copy of it is too old to book on."""


def _calendar_check(
    *, practice_id: int, provider: Provider, location: Location, service: Service, starts_at: datetime
) -> None:
    """Ask the provider's (location's, rooms') connected calendars, live, about the time the visit and its
    buffer would hold. Runs before the booking transaction: a network call never holds a lock."""
    if timezone.is_naive(starts_at):
        return
    if not CalendarConnection.objects.filter(practice_id=practice_id, is_active=True).exists():
        return
    verdict = caldav_sync.slot_check(
        practice_id=practice_id,
        provider_id=provider.pk,
        location_id=location.pk,
        resource_ids=Resource.objects.filter(location=location, services=service, is_active=True).values_list(
            "pk", flat=True
        ),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes),
    )
    if verdict.taken:
        raise CalendarTaken(verdict.taken)
    if verdict.unverified:
        raise CalendarUnverified(verdict.unverified)


def _calendar_push_later(appointment: Appointment) -> None:
    """Write the visit into the connected calendars once the booking has committed (a task, never inline)."""
    if CalendarConnection.objects.filter(
        practice_id=appointment.practice_id, is_active=True, write_appointments=True
    ).exists():
        pk = appointment.pk
        transaction.on_commit(lambda: async_task("booking.tasks.calendar_appointment_push", pk))


def _check_same_practice(practice: Practice, **rows) -> None:
    for name, row in rows.items():
        if row is not None and row.practice_id != practice.pk:
            raise BookingError(f"The {name} belongs to another practice.")


def _find_slot(*, service, location, provider, starts_at, enforce_notice, exclude_appointment_id=None):
    slots = open_slots(
        service=service,
        location=location,
        provider=provider,
        start=starts_at,
        end=starts_at + timedelta(minutes=1),
        enforce_notice=enforce_notice,
        exclude_appointment_id=exclude_appointment_id,
    )
    return next((slot for slot in slots if slot.start == starts_at), None)


def _lock_provider(provider: Provider) -> None:
    # Serialises bookings of one provider; on PostgreSQL the exclusion constraints still decide races
    # across providers for a shared room or device.
    Provider.objects.select_for_update().filter(pk=provider.pk).first()


def appointment_book(
    *,
    practice: Practice,
    patient: Patient,
    service: Service,
    location: Location,
    provider: Provider,
    starts_at: datetime,
    source: str,
    booked_by=None,
    enrollment: SeriesEnrollment | None = None,
    campaign: Campaign | None = None,
    enforce_notice: bool = True,
) -> Appointment:
    """Book `starts_at` if the booking engine still offers it for this provider; else SlotUnavailable.

    The provider's connected calendars are asked about that time first (CalendarTaken, CalendarUnverified),
    then everything the engine checks is checked again inside the booking transaction (_book).
    """
    _calendar_check(practice_id=practice.pk, provider=provider, location=location, service=service, starts_at=starts_at)
    return _book(
        practice=practice,
        patient=patient,
        service=service,
        location=location,
        provider=provider,
        starts_at=starts_at,
        source=source,
        booked_by=booked_by,
        enrollment=enrollment,
        campaign=campaign,
        enforce_notice=enforce_notice,
    )


@transaction.atomic
def _book(
    *,
    practice: Practice,
    patient: Patient,
    service: Service,
    location: Location,
    provider: Provider,
    starts_at: datetime,
    source: str,
    booked_by=None,
    enrollment: SeriesEnrollment | None = None,
    campaign: Campaign | None = None,
    enforce_notice: bool = True,
) -> Appointment:
    """Book `starts_at` if the booking engine still offers it for this provider; else SlotUnavailable.

    Re-checks everything the engine checks (hours, closures, shift, time off, other visits with their
    buffers, the room or device, credentials) inside the transaction with the provider locked, so what
    was offered a minute ago cannot be double-booked now. `enforce_notice=False` lets staff book a
    walk-in inside the minimum notice.
    """
    _check_same_practice(practice, patient=patient, service=service, location=location, provider=provider)
    if timezone.is_naive(starts_at):
        raise BookingError("The start time must include its time zone.")
    _lock_provider(provider)
    slot = _find_slot(
        service=service, location=location, provider=provider, starts_at=starts_at, enforce_notice=enforce_notice
    )
    if slot is None:
        raise SlotUnavailable("That time is not open for this provider. Please choose another time.")
    appointment = Appointment(
        practice=practice,
        location=location,
        patient=patient,
        service=service,
        provider=provider,
        resource_id=slot.resource_id,
        resource_unit=slot.resource_unit,
        starts_at=slot.start,
        ends_at=slot.end,
        blocks_until=slot.end + timedelta(minutes=service.buffer_after_minutes),
        source=source,
        booked_by=booked_by,
        enrollment=enrollment,
        campaign=campaign,
        value=service.expected_value,
    )
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as exc:
        raise SlotUnavailable("That time was just taken. Please choose another time.") from exc
    _calendar_push_later(appointment)
    return appointment


def appointment_reschedule(
    *, appointment: Appointment, starts_at: datetime, provider: Provider | None = None, enforce_notice: bool = True
) -> Appointment:
    """Move a visit to a new open time (optionally with another provider). On failure the visit is
    left exactly as it was. Connected calendars are asked about the new time first, as for a booking."""
    current = Appointment.objects.select_related("service", "location", "provider").get(pk=appointment.pk)
    _calendar_check(
        practice_id=current.practice_id,
        provider=provider or current.provider,
        location=current.location,
        service=current.service,
        starts_at=starts_at,
    )
    return _reschedule(appointment=appointment, starts_at=starts_at, provider=provider, enforce_notice=enforce_notice)


@transaction.atomic
def _reschedule(
    *, appointment: Appointment, starts_at: datetime, provider: Provider | None = None, enforce_notice: bool = True
) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
        raise InvalidTransition(f"A {appointment.get_status_display().lower()} visit cannot be rescheduled.")
    provider = provider or appointment.provider
    _check_same_practice(appointment.practice, provider=provider)
    _lock_provider(provider)
    slot = _find_slot(
        service=appointment.service,
        location=appointment.location,
        provider=provider,
        starts_at=starts_at,
        enforce_notice=enforce_notice,
        exclude_appointment_id=appointment.pk,
    )
    if slot is None:
        raise SlotUnavailable("That time is not open. The visit keeps its current time.")
    appointment.provider = provider
    appointment.resource_id, appointment.resource_unit = slot.resource_id, slot.resource_unit
    appointment.starts_at, appointment.ends_at = slot.start, slot.end
    appointment.blocks_until = slot.end + timedelta(minutes=appointment.service.buffer_after_minutes)
    appointment.status = Appointment.Status.BOOKED
    appointment.confirmed_at = None
    try:
        with transaction.atomic():
            appointment.save(
                update_fields=[
                    "provider",
                    "resource",
                    "resource_unit",
                    "starts_at",
                    "ends_at",
                    "blocks_until",
                    "status",
                    "confirmed_at",
                    "updated_at",
                ]
            )
    except IntegrityError as exc:
        raise SlotUnavailable("That time was just taken. The visit keeps its current time.") from exc
    _calendar_push_later(appointment)
    return appointment


@dataclass
class Cancellation:
    appointment: Appointment
    recovery_task: FollowUpTask | None = None
    waitlist: list[WaitlistEntry] = field(default_factory=list)


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, reason: str = "", now: datetime | None = None) -> Cancellation:
    """Cancel a visit and free its time. A series visit gets a recovery task for staff; the waitlisted
    patients the freed time fits are returned, best first. Cancelling twice changes nothing."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_for_update().select_related("location").get(pk=appointment.pk)
    if appointment.status == Appointment.Status.CANCELLED:
        return Cancellation(appointment=appointment)
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
        raise InvalidTransition(f"A {appointment.get_status_display().lower()} visit cannot be cancelled.")
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancelled_at = now
    appointment.cancellation_reason = reason[:200]
    appointment.save(update_fields=["status", "cancelled_at", "cancellation_reason", "updated_at"])
    _calendar_push_later(appointment)
    outcome = Cancellation(appointment=appointment)
    if appointment.enrollment_id:
        outcome.recovery_task, _ = FollowUpTask.objects.get_or_create(
            appointment=appointment,
            kind=FollowUpTask.Kind.CANCELLATION_RECOVERY,
            defaults={
                "practice_id": appointment.practice_id,
                "patient_id": appointment.patient_id,
                "enrollment_id": appointment.enrollment_id,
                "due_on": timezone.localtime(now, appointment.location.zone).date(),
                "reason": reason[:200] or "Cancelled a series visit",
            },
        )
    if appointment.starts_at > now:
        outcome.waitlist = waitlist_matches(appointment=appointment)
    return outcome


_TRANSITIONS = {
    Appointment.Status.CONFIRMED: ({Appointment.Status.BOOKED}, "confirmed_at"),
    Appointment.Status.CHECKED_IN: ({Appointment.Status.BOOKED, Appointment.Status.CONFIRMED}, "checked_in_at"),
    Appointment.Status.COMPLETED: (
        {Appointment.Status.BOOKED, Appointment.Status.CONFIRMED, Appointment.Status.CHECKED_IN},
        "completed_at",
    ),
    Appointment.Status.NO_SHOW: ({Appointment.Status.BOOKED, Appointment.Status.CONFIRMED}, None),
}


def _move(appointment: Appointment, status: str, now: datetime | None) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status == status:
        return appointment
    allowed_from, stamp = _TRANSITIONS[status]
    if appointment.status not in allowed_from:
        raise InvalidTransition(
            f"A {appointment.get_status_display().lower()} visit cannot be marked "
            f"{Appointment.Status(status).label.lower()}."
        )
    appointment.status = status
    fields = ["status", "updated_at"]
    if stamp:
        setattr(appointment, stamp, now or timezone.now())
        fields.append(stamp)
    appointment.save(update_fields=fields)
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    return _move(appointment, Appointment.Status.CONFIRMED, now)


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    return _move(appointment, Appointment.Status.CHECKED_IN, now)


@transaction.atomic
def appointment_no_show(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    return _move(appointment, Appointment.Status.NO_SHOW, now)


@transaction.atomic
def appointment_complete(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Complete a visit: the patient is now returning, and a series visit advances its enrollment."""
    already = Appointment.objects.filter(pk=appointment.pk, status=Appointment.Status.COMPLETED).exists()
    appointment = _move(appointment, Appointment.Status.COMPLETED, now)
    if already:
        return appointment
    patient = Patient.objects.get(pk=appointment.patient_id)
    if not patient.is_returning:
        patient.is_returning = True
        patient.save(update_fields=["is_returning"])  # through save, so the patient's history has it
    enrollment = appointment.enrollment or _open_enrollment_for(appointment)
    if enrollment is not None:
        if appointment.enrollment_id is None:
            appointment.enrollment = enrollment
            appointment.save(update_fields=["enrollment", "updated_at"])
        enrollment_record_visit(
            enrollment=enrollment,
            visit_day=timezone.localtime(appointment.starts_at, appointment.location.zone).date(),
            today=timezone.localtime(now or timezone.now(), appointment.location.zone).date(),
        )
    return appointment


def _open_enrollment_for(appointment: Appointment) -> SeriesEnrollment | None:
    return (
        SeriesEnrollment.objects.filter(patient_id=appointment.patient_id, template__service_id=appointment.service_id)
        .exclude(status__in=[SeriesEnrollment.Status.COMPLETED, SeriesEnrollment.Status.PAUSED])
        .order_by("pk")
        .first()
    )


# Series


@transaction.atomic
def enrollment_start(*, patient: Patient, template: SeriesTemplate, started_on: date | None = None) -> SeriesEnrollment:
    """Enroll a patient; the first visit is due from the start day (book it before they leave)."""
    _check_same_practice(patient.practice, template=template)
    started_on = started_on or timezone.localdate()
    return SeriesEnrollment.objects.create(
        practice_id=patient.practice_id,
        patient=patient,
        template=template,
        started_on=started_on,
        next_due_from=started_on,
        next_due_on=started_on,
        next_due_until=started_on + timedelta(days=template.late_days),
    )


def enrollment_record_visit(*, enrollment: SeriesEnrollment, visit_day: date, today: date) -> SeriesEnrollment:
    """Count a completed visit and set the next window (or complete the series)."""
    enrollment = SeriesEnrollment.objects.select_for_update().select_related("template").get(pk=enrollment.pk)
    template = enrollment.template
    enrollment.visits_done += 1
    enrollment.last_visit_on = visit_day
    if enrollment.visits_done >= template.visits and not template.repeats:
        enrollment.status = SeriesEnrollment.Status.COMPLETED
        enrollment.next_due_from = enrollment.next_due_on = enrollment.next_due_until = None
    else:
        enrollment.next_due_from, enrollment.next_due_on, enrollment.next_due_until = template.window_after(visit_day)
        enrollment.status = cadence_status(enrollment, today=today, has_upcoming_visit=_has_upcoming(enrollment))
    enrollment.save()
    return enrollment


def _has_upcoming(enrollment: SeriesEnrollment) -> bool:
    return (
        Appointment.objects.filter(
            patient_id=enrollment.patient_id,
            service_id=enrollment.template.service_id,
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
            starts_at__gte=timezone.now(),
        ).exists()
        or _calendar_visits_ahead(patient_id=enrollment.patient_id)
        .filter(event__service_id=enrollment.template.service_id)
        .exists()
    )


def _calendar_visits_ahead(*, practice: Practice | None = None, patient_id: int | None = None):
    """Upcoming visits booked in the practice's own calendar (mapped to a service, of a known patient)."""
    visits = ExternalOccurrence.objects.filter(
        busy=True, starts_at__gte=timezone.now(), event__service__isnull=False, event__patient__isnull=False
    )
    if practice is not None:
        visits = visits.filter(practice=practice)
    if patient_id is not None:
        visits = visits.filter(event__patient_id=patient_id)
    return visits


def cadence_status(enrollment: SeriesEnrollment, *, today: date, has_upcoming_visit: bool) -> str:
    """Where a patient stands on their series: a booked next visit is on cadence; otherwise by window."""
    held = {SeriesEnrollment.Status.PAUSED, SeriesEnrollment.Status.COMPLETED, SeriesEnrollment.Status.ESCALATED}
    if enrollment.status in held:
        return enrollment.status
    if has_upcoming_visit or enrollment.next_due_from is None or today < enrollment.next_due_from:
        return SeriesEnrollment.Status.ON_CADENCE
    if today <= enrollment.next_due_until:
        return SeriesEnrollment.Status.DUE
    return SeriesEnrollment.Status.LATE


@transaction.atomic
def series_sweep(*, practice: Practice, today: date) -> dict[str, int]:
    """Recompute every open enrollment's cadence status for `today`; safe to run any number of times."""
    enrollments = list(
        SeriesEnrollment.objects.select_for_update()
        .filter(practice=practice)
        .exclude(status__in=[SeriesEnrollment.Status.COMPLETED, SeriesEnrollment.Status.PAUSED])
        .select_related("template")
    )
    upcoming = set(
        Appointment.objects.filter(
            practice=practice,
            status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
            starts_at__gte=timezone.now(),
        ).values_list("patient_id", "service_id")
    ) | set(_calendar_visits_ahead(practice=practice).values_list("event__patient_id", "event__service_id"))
    changed: dict[str, int] = {}
    for enrollment in enrollments:
        status = cadence_status(
            enrollment,
            today=today,
            has_upcoming_visit=(enrollment.patient_id, enrollment.template.service_id) in upcoming,
        )
        if status != enrollment.status:
            enrollment.status = status
            enrollment.save(update_fields=["status"])
            changed[status] = changed.get(status, 0) + 1
    return changed


@transaction.atomic
def follow_up_create(
    *,
    patient: Patient,
    kind: str,
    due_on: date,
    reason: str = "",
    enrollment: SeriesEnrollment | None = None,
) -> FollowUpTask:
    """A dated task for staff, such as a patient who is not ready to book yet."""
    if enrollment is not None:
        enrollment.last_contact_at = timezone.now()
        enrollment.last_contact_outcome = reason[:200] or "Not ready to book"
        enrollment.save(update_fields=["last_contact_at", "last_contact_outcome"])
    return FollowUpTask.objects.create(
        practice_id=patient.practice_id,
        patient=patient,
        kind=kind,
        due_on=due_on,
        reason=reason[:200],
        enrollment=enrollment,
    )


@transaction.atomic
def callback_request(*, patient: Patient, reason: str, once: bool = False) -> FollowUpTask:
    """A callback due today (the practice's day) in the front desk's queue. With `once`, an open
    callback with the same reason is reused, so a repeated report does not queue it twice."""
    fields = {
        "practice_id": patient.practice_id,
        "patient": patient,
        "kind": FollowUpTask.Kind.CALLBACK,
        "reason": reason[:200],
    }
    due_on = timezone.localdate(timezone=patient.practice.zone)
    if once:
        return FollowUpTask.objects.get_or_create(
            **fields, status=FollowUpTask.Status.OPEN, defaults={"due_on": due_on}
        )[0]
    return FollowUpTask.objects.create(**fields, due_on=due_on)


@transaction.atomic
def follow_up_complete(*, task: FollowUpTask, outcome: str) -> FollowUpTask:
    task.status = FollowUpTask.Status.DONE
    task.outcome = outcome[:200]
    task.done_at = timezone.now()
    task.save(update_fields=["status", "outcome", "done_at"])
    return task


@transaction.atomic
def waitlist_add(
    *,
    patient: Patient,
    service: Service,
    earliest_on: date,
    latest_on: date,
    location: Location | None = None,
    provider: Provider | None = None,
    weekdays: list[int] | None = None,
    parts_of_day: list[str] | None = None,
) -> WaitlistEntry:
    _check_same_practice(patient.practice, service=service, location=location, provider=provider)
    if earliest_on > latest_on:
        raise BookingError("The waitlist window ends before it starts.")
    return WaitlistEntry.objects.create(
        practice_id=patient.practice_id,
        patient=patient,
        service=service,
        location=location,
        provider=provider,
        earliest_on=earliest_on,
        latest_on=latest_on,
        weekdays=weekdays or [],
        parts_of_day=parts_of_day or [],
    )
