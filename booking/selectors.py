"""Reads of the calendar: open times (rows in, the pure engine in between), appointments, series."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from practices.models import (
    BusinessHours,
    Closure,
    Location,
    Patient,
    Practice,
    Provider,
    ProviderShift,
    ProviderTimeOff,
    Resource,
    Service,
)

from .availability import (
    Interval,
    LocationSchedule,
    Preferences,
    ProviderSchedule,
    ResourceSchedule,
    ServiceSpec,
    Slot,
    find_slots,
    first_per_day,
)
from .db import fast_rows as _rows
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    BookingState,
    CalendarConnection,
    ExternalOccurrence,
    SeriesEnrollment,
    WaitlistEntry,
)


@dataclass(frozen=True)
class ScheduleInputs:
    service: ServiceSpec
    location: LocationSchedule
    providers: list[ProviderSchedule]
    resources: list[ResourceSchedule]


def _weekly(rows) -> dict[int, tuple]:
    """Weekly intervals by weekday, with touching or overlapping rows merged (9-12 and 12-17 is one
    9-17 day, so a visit may run across the seam)."""
    weekly: dict[int, list] = defaultdict(list)
    for weekday, starts, ends in rows:
        weekly[weekday].append((starts, ends))
    merged = {}
    for weekday, intervals in weekly.items():
        day: list[tuple] = []
        for starts, ends in sorted(intervals):
            if day and starts <= day[-1][1]:
                day[-1] = (day[-1][0], max(day[-1][1], ends))
            else:
                day.append((starts, ends))
        merged[weekday] = tuple(day)
    return merged


def _closure_intervals(closures, *, tz, first_day: date, last_day: date) -> tuple[Interval, ...]:
    intervals = []
    for closure in closures:
        day = max(closure.starts_on, first_day)
        while day <= min(closure.ends_on, last_day):
            if closure.from_time is None:
                start = datetime.combine(day, datetime.min.time(), tz)
                end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
            else:
                start = datetime.combine(day, closure.from_time, tz)
                end = datetime.combine(day, closure.to_time, tz)
            intervals.append(Interval(start, end))
            day += timedelta(days=1)
    return tuple(intervals)


def schedule_inputs(
    *,
    service: Service,
    location: Location,
    window: Interval,
    provider: Provider | None = None,
    exclude_appointment_id: int | None = None,
) -> ScheduleInputs:
    """Everything the engine needs for one service at one location, in a fixed number of queries.

    Busy time of a provider counts at every location (nobody is in two places); busy time of a room
    or device is its own. `exclude_appointment_id` leaves one visit out, so that it can move within
    its own time when rescheduled.
    """
    tz = location.zone
    # A visit that starts inside the window can run past its end.
    reach = window.end + timedelta(minutes=service.duration_minutes + service.buffer_after_minutes)
    first_day = timezone.localtime(window.start, tz).date() - timedelta(days=1)
    last_day = timezone.localtime(reach, tz).date() + timedelta(days=1)

    hours = _weekly(_rows(BusinessHours.objects.filter(location=location), "weekday", "opens_at", "closes_at"))
    closures = Closure.objects.filter(
        Q(location=location) | Q(location__isnull=True),
        practice_id=location.practice_id,
        starts_on__lte=last_day,
        ends_on__gte=first_day,
    )
    location_schedule = LocationSchedule(
        id=location.pk,
        tz=tz,
        hours=hours,
        closures=_closure_intervals(closures, tz=tz, first_day=first_day, last_day=last_day),
    )

    providers = Provider.objects.filter(
        practice_id=location.practice_id, is_active=True, services=service, locations=location
    ).order_by("pk")
    if provider is not None:
        providers = providers.filter(pk=provider.pk)
    provider_ids = list(providers.values_list("pk", flat=True))

    shifts = defaultdict(list)
    for provider_id, weekday, starts, ends in _rows(
        ProviderShift.objects.filter(provider_id__in=provider_ids, location=location),
        "provider_id",
        "weekday",
        "starts_at",
        "ends_at",
    ):
        shifts[provider_id].append((weekday, starts, ends))
    time_off = defaultdict(list)
    for provider_id, starts, ends in _rows(
        ProviderTimeOff.objects.filter(provider_id__in=provider_ids, starts_at__lt=reach, ends_at__gt=window.start),
        "provider_id",
        "starts_at",
        "ends_at",
    ):
        time_off[provider_id].append(Interval(starts, ends))

    overlapping = Appointment.objects.filter(
        status__in=ACTIVE_STATUSES, starts_at__lt=reach, blocks_until__gt=window.start
    ).exclude(pk=exclude_appointment_id)
    provider_busy = defaultdict(list)
    for provider_id, starts, ends in _rows(
        overlapping.filter(provider_id__in=provider_ids), "provider_id", "starts_at", "blocks_until"
    ):
        provider_busy[provider_id].append(Interval(starts, ends))

    resources = list(
        Resource.objects.filter(location=location, services=service, is_active=True)
        .order_by("pk")
        .values_list("pk", "capacity")
    )
    resource_busy = defaultdict(list)
    for resource_id, unit, starts, ends in _rows(
        overlapping.filter(resource_id__in=[pk for pk, _ in resources]),
        "resource_id",
        "resource_unit",
        "starts_at",
        "blocks_until",
    ):
        resource_busy[resource_id].append((Interval(starts, ends), unit))
    _add_calendar_busy(
        practice_id=location.practice_id,
        location=location,
        window=Interval(window.start, reach),
        provider_busy=provider_busy,
        provider_ids=provider_ids,
        resource_busy=resource_busy,
        resources=resources,
    )

    return ScheduleInputs(
        service=ServiceSpec(
            id=service.pk,
            duration=timedelta(minutes=service.duration_minutes),
            buffer_after=timedelta(minutes=service.buffer_after_minutes),
            provider_ids=frozenset(provider_ids),
            resource_ids=frozenset(pk for pk, _ in resources),
        ),
        location=location_schedule,
        providers=[
            ProviderSchedule(
                id=pk,
                shifts=_weekly(shifts[pk]),
                time_off=tuple(time_off[pk]),
                busy=tuple(provider_busy[pk]),
            )
            for pk in provider_ids
        ],
        resources=[
            ResourceSchedule(id=pk, capacity=capacity, busy=tuple(resource_busy[pk])) for pk, capacity in resources
        ],
    )


def _add_calendar_busy(
    *, practice_id: int, location: Location, window: Interval, provider_busy, provider_ids, resource_busy, resources
) -> None:
    """Busy time from the practice's connected calendars (booking/caldav_sync.py keeps the copy): events of
    a provider's calendar hold that provider, of a location's calendar every provider there, of a room's
    calendar every unit of the room. A calendar that is refusing bookings (stale and failing) holds its
    owner for the whole window, so that the receptionist does not offer times a booking would refuse; busy
    time a booking's live check just found holds too, even when that booking was rolled back."""
    resource_ids = [pk for pk, _ in resources]
    connections = list(
        CalendarConnection.objects.filter(
            Q(provider_id__in=provider_ids) | Q(location_id=location.pk) | Q(resource_id__in=resource_ids),
            practice_id=practice_id,
            is_active=True,
        )
    )
    if not connections:
        return
    capacity = dict(resources)
    now = timezone.now()
    whole = Interval(window.start, window.end)

    def hold(connection, interval: Interval) -> None:
        if connection.provider_id:
            provider_busy[connection.provider_id].append(interval)
        elif connection.location_id:
            for provider_id in provider_ids:
                provider_busy[provider_id].append(interval)
        else:
            for unit in range(1, capacity.get(connection.resource_id, 1) + 1):
                resource_busy[connection.resource_id].append((interval, unit))

    by_pk = {connection.pk: connection for connection in connections}
    for connection in connections:
        if connection.booking_state(now).kind == BookingState.REFUSING:
            hold(connection, whole)
    for connection_id, starts, ends in _rows(
        ExternalOccurrence.objects.filter(
            connection_id__in=list(by_pk), busy=True, starts_at__lt=window.end, ends_at__gt=window.start
        ),
        "connection_id",
        "starts_at",
        "ends_at",
    ):
        hold(by_pk[connection_id], Interval(starts, ends))
    seen = cache.get_many([connection.just_seen_key for connection in connections])
    for connection in connections:
        for starts, ends in seen.get(connection.just_seen_key, ()):
            if starts < window.end and ends > window.start:
                hold(connection, Interval(starts, ends))


def patient_is_new(patient: Patient | None) -> bool:
    """New unless the practice marked them returning or they completed a visit."""
    if patient is None:
        return True
    if patient.is_returning:
        return False
    return not patient.appointments.filter(status=Appointment.Status.COMPLETED).exists()


def service_to_offer(*, service: Service, patient: Patient | None) -> Service:
    """The consultation instead of the treatment for a new patient, where the service asks for it."""
    if not service.consultation_required_for_new or not patient_is_new(patient):
        return service
    consultation = (
        Service.objects.filter(practice_id=service.practice_id, category=Service.Category.CONSULTATION, is_active=True)
        .order_by("pk")
        .first()
    )
    return consultation or service


def _engine_rules(practice: Practice, *, enforce_notice: bool = True) -> dict:
    return {
        "min_notice": timedelta(minutes=practice.min_notice_minutes if enforce_notice else 0),
        "horizon": timedelta(days=practice.booking_horizon_days),
        "step": timedelta(minutes=practice.slot_step_minutes),
    }


def _locations_for(*, service: Service, location: Location | None) -> QuerySet[Location]:
    if location is not None:
        return Location.objects.filter(pk=location.pk)
    return (
        Location.objects.filter(practice_id=service.practice_id, is_active=True, providers__services=service)
        .distinct()
        .order_by("pk")
    )


def open_slots(
    *,
    service: Service,
    start: datetime,
    end: datetime,
    location: Location | None = None,
    provider: Provider | None = None,
    preferences: Preferences | None = None,
    limit: int | None = None,
    now: datetime | None = None,
    enforce_notice: bool = True,
    exclude_appointment_id: int | None = None,
) -> list[Slot]:
    """Open times for `service` (at `location`, or at any of the practice's locations), sorted."""
    now = now or timezone.now()
    practice = service.practice
    window = Interval(start, end)
    slots: list[Slot] = []
    for place in _locations_for(service=service, location=location):
        inputs = schedule_inputs(
            service=service,
            location=place,
            window=window,
            provider=provider,
            exclude_appointment_id=exclude_appointment_id,
        )
        slots += find_slots(
            service=inputs.service,
            location=inputs.location,
            providers=inputs.providers,
            resources=inputs.resources,
            window=window,
            now=now,
            preferences=preferences,
            limit=limit,
            **_engine_rules(practice, enforce_notice=enforce_notice),
        )
    slots.sort(key=lambda slot: (slot.start, slot.location_id))
    return slots[:limit] if limit else slots


def first_choices(
    *,
    service: Service,
    start: datetime,
    end: datetime,
    days: int = 3,
    location: Location | None = None,
    provider: Provider | None = None,
    preferences: Preferences | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Three sensible choices: the first open time on each of the next `days` days that have one."""
    now = now or timezone.now()
    window = Interval(start, end)
    by_day: dict[date, Slot] = {}
    for place in _locations_for(service=service, location=location):
        inputs = schedule_inputs(service=service, location=place, window=window, provider=provider)
        for slot in first_per_day(
            days=days,
            service=inputs.service,
            location=inputs.location,
            providers=inputs.providers,
            resources=inputs.resources,
            window=window,
            now=now,
            preferences=preferences,
            **_engine_rules(service.practice),
        ):
            day = slot.start.date()
            if day not in by_day or slot.start < by_day[day].start:
                by_day[day] = slot
    return [by_day[day] for day in sorted(by_day)][:days]


def appointments_for_practice(*, practice: Practice) -> QuerySet[Appointment]:
    return Appointment.objects.filter(practice=practice).select_related(
        "patient", "service", "provider", "location", "resource"
    )


def appointments_on_day(
    *, practice: Practice, day: date, location: Location | None = None, provider: Provider | None = None
) -> QuerySet[Appointment]:
    """The visits on a local calendar day (each location's own day), in start order."""
    queryset = appointments_for_practice(practice=practice)
    if location is not None:
        queryset = queryset.filter(location=location)
    if provider is not None:
        queryset = queryset.filter(provider=provider)
    # Each location's own local day, so that an 11:30 pm visit in Phoenix stays on its day.
    places = Location.objects.filter(practice=practice) if location is None else [location]
    on_day = Q(pk__in=[])
    for place in places:
        day_start = datetime.combine(day, datetime.min.time(), place.zone)
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), place.zone)
        on_day |= Q(location=place, starts_at__gte=day_start, starts_at__lt=day_end)
    return queryset.filter(on_day).order_by("starts_at")


def enrollments_for_practice(*, practice: Practice) -> QuerySet[SeriesEnrollment]:
    return SeriesEnrollment.objects.filter(practice=practice).select_related("patient", "template", "template__service")


def waitlist_matches(*, appointment: Appointment) -> list[WaitlistEntry]:
    """Waitlisted patients the freed time of `appointment` fits, best first.

    Best: those who asked for this provider, then those who asked for this location, then first come.
    """
    local = appointment.local_start
    part = "morning" if local.hour < 12 else "afternoon" if local.hour < 17 else "evening"
    candidates = (
        WaitlistEntry.objects.filter(
            practice_id=appointment.practice_id,
            status=WaitlistEntry.Status.WAITING,
            service_id=appointment.service_id,
            earliest_on__lte=local.date(),
            latest_on__gte=local.date(),
        )
        .filter(Q(location__isnull=True) | Q(location_id=appointment.location_id))
        .filter(Q(provider__isnull=True) | Q(provider_id=appointment.provider_id))
        .exclude(patient_id=appointment.patient_id)
        .select_related("patient")
    )
    fitting = [
        entry
        for entry in candidates
        if (not entry.weekdays or local.weekday() in entry.weekdays)
        and (not entry.parts_of_day or part in entry.parts_of_day)
    ]
    return sorted(
        fitting, key=lambda entry: (entry.provider_id is None, entry.location_id is None, entry.created_at, entry.pk)
    )
