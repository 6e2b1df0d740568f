"""Checkout: book the next visit before the client leaves.

After a visit is completed, the next one is due in the series window when the visit belongs to an open
series (SeriesEnrollment.next_due_from..next_due_until, as the completion has just set them), else around
the service's usual return interval (Service.return_interval_days, give or take RETURN_WINDOW_DAYS).
Times come from the booking engine, the same provider first. A client who is not ready gets a dated
follow-up task, never a memory.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from practices.models import Provider, Service

from .availability import Slot
from .models import Appointment, FollowUpTask, SeriesEnrollment
from .selectors import first_choices, open_slots
from .services import follow_up_create

RETURN_WINDOW_DAYS = 7
CHOICES = 5


@dataclass(frozen=True)
class NextVisitWindow:
    """When the next visit is due: the days it may fall on, the ideal day, and why."""

    starts_on: date
    due_on: date
    ends_on: date
    service: Service
    enrollment: SeriesEnrollment | None = None
    return_interval_days: int | None = None

    def follow_up_on(self, today: date) -> date:
        """When staff should ask a client who is not ready: the window's start (today if it has begun)."""
        return max(self.starts_on, today)


def next_visit_window(*, appointment: Appointment) -> NextVisitWindow | None:
    """The window for the visit after `appointment`, or None when neither a series nor the service
    says when the client should come back."""
    enrollment = (
        SeriesEnrollment.objects.select_related("template__service").filter(pk=appointment.enrollment_id).first()
        if appointment.enrollment_id
        else None
    )
    if (
        enrollment is not None
        and enrollment.status != SeriesEnrollment.Status.COMPLETED
        and enrollment.next_due_from is not None
    ):
        return NextVisitWindow(
            starts_on=enrollment.next_due_from,
            due_on=enrollment.next_due_on,
            ends_on=enrollment.next_due_until,
            service=enrollment.template.service,
            enrollment=enrollment,
        )
    service = appointment.service
    if not service.return_interval_days:
        return None
    due_on = appointment.local_start.date() + timedelta(days=service.return_interval_days)
    return NextVisitWindow(
        starts_on=due_on - timedelta(days=RETURN_WINDOW_DAYS),
        due_on=due_on,
        ends_on=due_on + timedelta(days=RETURN_WINDOW_DAYS),
        service=service,
        return_interval_days=service.return_interval_days,
    )


def next_visit_choices(
    *, appointment: Appointment, window: NextVisitWindow, day: date | None = None
) -> list[tuple[Slot, Provider]]:
    """Open times for the next visit, at the same location: on `day` (every open time, the same
    provider's first), or else the first time on each of the window's first open days with the same
    provider, topped up with other providers when that provider has few."""
    location = appointment.location
    zone = location.zone
    now = timezone.now()
    if day is not None:
        slots = open_slots(
            service=window.service,
            location=location,
            start=max(datetime.combine(day, time.min, zone), now),
            end=datetime.combine(day + timedelta(days=1), time.min, zone),
            enforce_notice=False,
        )
        slots.sort(key=lambda slot: (slot.provider_id != appointment.provider_id, slot.start))
    else:
        start = max(datetime.combine(window.starts_on, time.min, zone), now)
        end = datetime.combine(window.ends_on + timedelta(days=1), time.min, zone)
        if end <= start:
            return []
        slots = first_choices(
            service=window.service, location=location, provider=appointment.provider, start=start, end=end, days=CHOICES
        )
        if len(slots) < 3:
            taken = {(slot.start, slot.provider_id) for slot in slots}
            others = first_choices(service=window.service, location=location, start=start, end=end, days=CHOICES)
            slots += [slot for slot in others if (slot.start, slot.provider_id) not in taken][: CHOICES - len(slots)]
    providers = Provider.objects.in_bulk({slot.provider_id for slot in slots})
    return [(slot, providers[slot.provider_id]) for slot in slots]


@transaction.atomic
def checkout_not_ready(*, appointment: Appointment, window: NextVisitWindow, reason: str, today: date) -> FollowUpTask:
    """The client is not ready to book: a NOT_READY task due at the window's start, with the reason.
    Asking twice (a double click) gives the same open task."""
    due_on = window.follow_up_on(today)
    existing = FollowUpTask.objects.filter(
        practice_id=appointment.practice_id,
        patient_id=appointment.patient_id,
        kind=FollowUpTask.Kind.NOT_READY,
        status=FollowUpTask.Status.OPEN,
        enrollment=window.enrollment,
        due_on=due_on,
    ).first()
    if existing is not None:
        return existing
    return follow_up_create(
        patient=appointment.patient,
        kind=FollowUpTask.Kind.NOT_READY,
        due_on=due_on,
        reason=reason.strip()[:200] or f"Not ready to book the next {window.service.name} visit",
        enrollment=window.enrollment,
    )
