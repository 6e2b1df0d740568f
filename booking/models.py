"""The calendar: appointments that never collide, treatment series, follow-up tasks, the waitlist."""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .crypto import encrypt


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()


ACTIVE_STATUSES = ("booked", "confirmed", "checked_in", "completed")


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    class Source(models.TextChoices):
        SMS = "sms", "Text message"
        VOICE = "voice", "Phone call"
        STAFF = "staff", "Staff"
        API = "api", "API"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="appointments")
    location = models.ForeignKey("practices.Location", on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey("practices.Patient", on_delete=models.CASCADE, related_name="appointments")
    service = models.ForeignKey("practices.Service", on_delete=models.PROTECT, related_name="appointments")
    provider = models.ForeignKey("practices.Provider", on_delete=models.PROTECT, related_name="appointments")
    resource = models.ForeignKey(
        "practices.Resource", on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    resource_unit = models.PositiveSmallIntegerField(null=True, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The visit plus the service's buffer (turnover, cleaning): what provider and room are held for.
    blocks_until = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    source = models.CharField(max_length=8, choices=Source.choices)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    enrollment = models.ForeignKey(
        "booking.SeriesEnrollment", on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments"
    )
    campaign = models.ForeignKey(
        "practices.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments"
    )
    value = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The service's visit value when booked; revenue figures add these up.",
    )
    needs_provider_review = models.BooleanField(
        default=False, help_text="Intake answers touch the clinical boundary: a provider reviews before the visit."
    )
    review_reasons = models.JSONField(default=list, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()  # who changed what, when (django-simple-history)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["practice", "starts_at"]),
            models.Index(fields=["provider", "starts_at"]),
            models.Index(fields=["resource", "starts_at"]),
            models.Index(fields=["patient", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="appointment_starts_before_end"),
            models.CheckConstraint(condition=Q(ends_at__lte=F("blocks_until")), name="appointment_block_covers_visit"),
            models.CheckConstraint(
                condition=Q(resource__isnull=True, resource_unit__isnull=True)
                | Q(resource__isnull=False, resource_unit__gte=1),
                name="appointment_resource_has_unit",
            ),
            # PostgreSQL only (see booking/migrations/0002): two active visits never hold one provider,
            # or one unit of a room or device, at the same moment.
            ExclusionConstraint(
                name="appointment_provider_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "blocks_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("provider", RangeOperators.EQUAL),
                ],
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
            ExclusionConstraint(
                name="appointment_resource_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "blocks_until", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("resource", RangeOperators.EQUAL),
                    ("resource_unit", RangeOperators.EQUAL),
                ],
                condition=Q(status__in=ACTIVE_STATUSES) & Q(resource__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} on {self.local_start:%a %b %d, %I:%M %p}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def local_start(self):
        return timezone.localtime(self.starts_at, self.location.zone)

    @property
    def local_end(self):
        return timezone.localtime(self.ends_at, self.location.zone)

    def validate_constraints(self, exclude=None):
        # Exclusion constraints query with range operators that only PostgreSQL has; the booking
        # services check overlaps themselves on every database.
        from django.db import connection

        if connection.vendor != "postgresql":
            exclude = set(exclude or ()) | {"starts_at", "blocks_until", "provider", "resource", "resource_unit"}
        super().validate_constraints(exclude=exclude)


class SeriesTemplate(models.Model):
    """A treatment package: the service, how many visits and how far apart."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="series_templates")
    name = models.CharField(max_length=120)
    service = models.ForeignKey("practices.Service", on_delete=models.PROTECT, related_name="series_templates")
    visits = models.PositiveSmallIntegerField(help_text="Visits in the series (1 for an ongoing cadence like tox).")
    interval_days = models.PositiveSmallIntegerField(help_text="Ideal days between visits.")
    early_days = models.PositiveSmallIntegerField(default=7, help_text="A visit this many days early is fine.")
    late_days = models.PositiveSmallIntegerField(default=14, help_text="A visit after this many days late is late.")
    repeats = models.BooleanField(default=False, help_text="Starts over after the last visit (maintenance tox).")
    provider_credential = models.CharField(max_length=20, blank=True, help_text="Required credential, if any.")
    resource = models.ForeignKey("practices.Resource", on_delete=models.SET_NULL, null=True, blank=True)
    prep_reminder = models.TextField(blank=True)
    aftercare_reminder = models.TextField(blank=True)
    staff_review_before_next = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(visits__gte=1), name="series_has_visits"),
            models.CheckConstraint(condition=Q(interval_days__gte=1), name="series_interval_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def window_after(self, visit_day: date) -> tuple[date, date, date]:
        """(earliest, ideal, latest) day for the next visit after a visit on `visit_day`."""
        ideal = visit_day + timedelta(days=self.interval_days)
        return ideal - timedelta(days=self.early_days), ideal, ideal + timedelta(days=self.late_days)


class SeriesEnrollment(models.Model):
    class Status(models.TextChoices):
        ON_CADENCE = "on_cadence", "On cadence"
        DUE = "due", "Due"
        LATE = "late", "Late"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        ESCALATED = "escalated", "Escalated to staff"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="series_enrollments")
    patient = models.ForeignKey("practices.Patient", on_delete=models.CASCADE, related_name="series_enrollments")
    template = models.ForeignKey(SeriesTemplate, on_delete=models.PROTECT, related_name="enrollments")
    visits_done = models.PositiveSmallIntegerField(default=0)
    last_visit_on = models.DateField(null=True, blank=True)
    next_due_from = models.DateField(null=True, blank=True)
    next_due_on = models.DateField(null=True, blank=True)
    next_due_until = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ON_CADENCE)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    last_contact_outcome = models.CharField(max_length=200, blank=True)
    started_on = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["next_due_on"]
        indexes = [models.Index(fields=["practice", "status", "next_due_on"])]

    def __str__(self) -> str:
        return f"{self.template} ({self.visits_done}/{self.template.visits})"

    def days_overdue(self, today: date) -> int:
        if self.next_due_until is None or today <= self.next_due_until:
            return 0
        return (today - self.next_due_until).days


class FollowUpTask(models.Model):
    """Work for staff with a due date, never a memory: a patient not ready to book, a cancelled
    series visit to recover, a callback."""

    class Kind(models.TextChoices):
        NOT_READY = "not_ready", "Not ready to book"
        CANCELLATION_RECOVERY = "cancellation_recovery", "Cancelled series visit"
        CALLBACK = "callback", "Call back"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="follow_up_tasks")
    patient = models.ForeignKey("practices.Patient", on_delete=models.CASCADE, related_name="follow_up_tasks")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    enrollment = models.ForeignKey(SeriesEnrollment, on_delete=models.CASCADE, null=True, blank=True)
    appointment = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True)
    due_on = models.DateField()
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["practice", "status", "due_on"])]
        constraints = [
            # One recovery item per cancelled visit, however often the cancel is retried.
            models.UniqueConstraint(
                fields=["appointment", "kind"], condition=Q(appointment__isnull=False), name="one_task_per_visit_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_on}"


class WaitlistEntry(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Offered a time"
        BOOKED = "booked", "Booked"
        EXPIRED = "expired", "Expired"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="waitlist")
    patient = models.ForeignKey("practices.Patient", on_delete=models.CASCADE, related_name="waitlist_entries")
    service = models.ForeignKey("practices.Service", on_delete=models.CASCADE, related_name="waitlist_entries")
    location = models.ForeignKey("practices.Location", on_delete=models.CASCADE, null=True, blank=True)
    provider = models.ForeignKey("practices.Provider", on_delete=models.CASCADE, null=True, blank=True)
    earliest_on = models.DateField()
    latest_on = models.DateField()
    weekdays = models.JSONField(default=list, blank=True, help_text="Mon=0; empty means any day.")
    parts_of_day = models.JSONField(default=list, blank=True, help_text="morning, afternoon, evening; empty: any.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(condition=Q(earliest_on__lte=F("latest_on")), name="waitlist_window_in_order")
        ]

    def __str__(self) -> str:
        return f"{self.patient} for {self.service}"


class IntakeForm(models.Model):
    """The form a new patient fills in before their first visit, reached by a signed, expiring link
    for them alone. Submitted once; the answers are patient data."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent, not done"
        SUBMITTED = "submitted", "Done"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="intake_forms")
    patient = models.ForeignKey("practices.Patient", on_delete=models.CASCADE, related_name="intake_forms")
    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="intake")
    nonce = models.CharField(max_length=43, unique=True, help_text="The random part of the link; a new one revokes it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    flags = models.JSONField(default=list, blank=True, help_text="Answers that touch the clinical boundary.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["practice", "status"])]

    def __str__(self) -> str:
        return f"Intake {self.pk} ({self.get_status_display()})"


# The practice's own calendars (CalDAV): what we read as busy time, what we write, and what clashed.


class CalendarConnection(models.Model):
    """One CalDAV calendar of a provider, a location or a room or device.

    Its events are busy time for whoever it belongs to, and our visits of theirs are written into it.
    The app password is stored encrypted (booking.crypto); nothing shows it again once saved.
    """

    class AllDay(models.TextChoices):
        BUSY = "busy", "Busy all day"
        IGNORE = "ignore", "Ignore (reminders, birthdays, notes)"

    class Detail(models.TextChoices):
        BUSY_ONLY = "busy", "Only 'Booked'"
        SERVICE = "service", "The service"
        SERVICE_FIRST_NAME = "service_first_name", "The service and the patient's first name"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="calendar_connections")
    name = models.CharField(max_length=120, help_text='How staff know it, e.g. "Dr. Lee\'s iCloud".')
    provider = models.ForeignKey(
        "practices.Provider", on_delete=models.CASCADE, null=True, blank=True, related_name="calendar_connections"
    )
    location = models.ForeignKey(
        "practices.Location",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_connections",
        help_text="A calendar for a whole location: its events are busy time for every provider there.",
    )
    resource = models.ForeignKey(
        "practices.Resource", on_delete=models.CASCADE, null=True, blank=True, related_name="calendar_connections"
    )
    server_url = models.URLField(
        max_length=500, help_text="The CalDAV address the calendar service gives (the server or the calendar)."
    )
    username = models.CharField(max_length=200)
    password_encrypted = models.TextField(blank=True, editable=False)
    calendar_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="The calendar to use, from the list that 'test connection' reports. Empty: the first one found.",
    )
    is_active = models.BooleanField(default=True)
    write_appointments = models.BooleanField(default=True, help_text="Write our visits into this calendar.")
    max_staleness_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text="When the calendar cannot be checked at booking time, book on our copy of it only if the copy is "
        "at most this old. A calendar that stays unreachable stops holding up bookings after this long again.",
    )
    all_day_events = models.CharField(max_length=8, choices=AllDay.choices, default=AllDay.BUSY)
    event_details = models.CharField(
        max_length=20,
        choices=Detail.choices,
        default=Detail.SERVICE_FIRST_NAME,
        help_text="What the events we write say. Nothing else about the patient is ever written.",
    )
    # Sync state.
    sync_token = models.TextField(blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The last time our copy of the calendar was brought up to date.",
    )
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)
    last_fetched = models.PositiveIntegerField(default=0, editable=False, help_text="Events read in the last sync.")
    last_sync_kind = models.CharField(max_length=12, blank=True, editable=False)
    events_written_total = models.PositiveIntegerField(default=0, editable=False)
    expanded_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(provider__isnull=False, location__isnull=True, resource__isnull=True)
                | Q(provider__isnull=True, location__isnull=False, resource__isnull=True)
                | Q(provider__isnull=True, location__isnull=True, resource__isnull=False),
                name="calendar_connection_has_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def owner(self):
        return self.provider or self.location or self.resource

    def clean(self) -> None:
        owners = [self.provider_id, self.location_id, self.resource_id]
        if sum(owner is not None for owner in owners) != 1:
            raise ValidationError("Choose exactly one of a provider, a location or a room or device.")
        for name in ("provider", "location", "resource"):
            owner = getattr(self, name) if getattr(self, f"{name}_id") else None
            if owner is not None and self.practice_id and owner.practice_id != self.practice_id:
                raise ValidationError({name: "That belongs to another practice."})

    def set_password(self, plain: str) -> None:
        """Keep the app password, encrypted (booking/crypto.py); call save() after."""
        self.password_encrypted = encrypt(plain)

    @property
    def zone(self):
        """The zone of floating times and all-day events: the location's, else the practice's."""
        place = self.location or (self.resource.location if self.resource_id else None)
        return place.zone if place is not None else self.practice.zone

    @property
    def just_seen_key(self) -> str:
        """The cache key of busy time a booking's live check just found. The check also stores it in our
        copy, but a refused booking's transaction may roll that back; the cache keeps it for a few minutes
        so the receptionist does not offer the same time again (booking/caldav_sync.py)."""
        return f"calendar-busy-seen:{self.pk}:{self.created_at.timestamp()}"

    @property
    def staleness_limit(self) -> timedelta:
        return timedelta(minutes=self.max_staleness_minutes)

    def booking_state(self, now) -> "BookingState":
        """Whether a booking may go ahead when this calendar cannot be checked live.

        Fresh: our copy is within the practice's limit, so book on it. Refusing: the copy is older than
        the limit and the calendar is failing; refused for at most the limit again, counted from when the
        refusing began. Bypassed: after that, booking goes ahead on our own calendar (and the last copy)
        until the connection works again, so a wrong password never stops the practice's bookings.
        Unknown: no failure recorded yet; the live check decides.
        """
        limit = self.staleness_limit
        fresh_until = self.last_success_at + limit if self.last_success_at else None
        if fresh_until is not None and now <= fresh_until:
            return BookingState(BookingState.FRESH)
        if self.failing_since is None:
            return BookingState(BookingState.UNKNOWN)
        refusing_since = max(fresh_until, self.failing_since) if fresh_until else self.failing_since
        if now < refusing_since + limit:
            return BookingState(BookingState.REFUSING, until=refusing_since + limit)
        return BookingState(BookingState.BYPASSED, since=refusing_since + limit)


@dataclass(frozen=True)
class BookingState:
    FRESH, UNKNOWN, REFUSING, BYPASSED = "fresh", "unknown", "refusing", "bypassed"

    kind: str
    until: datetime | None = None  # REFUSING: bookings go ahead again from then
    since: datetime | None = None  # BYPASSED: bookings have gone ahead unchecked since then


class EventTypeMapping(models.Model):
    """Turns the practice's own event titles or categories ("Botox - 20u", "TOX f/u") into a service,
    so visits booked outside the receptionist count in analytics and series too."""

    class Field(models.TextChoices):
        TITLE = "title", "Title contains"
        CATEGORY = "category", "Category is"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="event_type_mappings")
    match_on = models.CharField(max_length=8, choices=Field.choices, default=Field.TITLE)
    pattern = models.CharField(max_length=120, help_text="Compared without regard to case.")
    service = models.ForeignKey("practices.Service", on_delete=models.CASCADE, related_name="event_type_mappings")
    priority = models.PositiveSmallIntegerField(
        default=100, help_text="Lower wins when several match; then the longest pattern."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "pattern"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "match_on", "pattern"], name="event_mapping_unique_pattern")
        ]

    def __str__(self) -> str:
        return f"{self.get_match_on_display()} '{self.pattern}' → {self.service}"

    def matches(self, *, title: str, categories: list[str]) -> bool:
        pattern = self.pattern.strip().casefold()
        if not pattern:
            return False
        if self.match_on == self.Field.CATEGORY:
            return any(category.strip().casefold() == pattern for category in categories)
        return pattern in title.casefold()


class ExternalEvent(models.Model):
    """One event of a connected calendar that the receptionist did not write, as the calendar has it."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="events")
    href = models.CharField(max_length=500)
    etag = models.CharField(max_length=200, blank=True)
    uid = models.CharField(max_length=255, blank=True)
    ical = models.TextField(help_text="The event as the server sent it (recurrences are expanded from it).")
    title = models.CharField(max_length=255, blank=True)
    categories = models.JSONField(default=list, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    all_day = models.BooleanField(default=False)
    is_recurring = models.BooleanField(default=False)
    service = models.ForeignKey("practices.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    location = models.ForeignKey(
        "practices.Location",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where the visit is: the connection's location, its room's, or its provider's only location.",
    )
    booked_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was put in the calendar (its CREATED), else when we first saw it."
    )
    patient = models.ForeignKey(
        "practices.Patient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calendar_visits",
        help_text="Matched only by a phone number or email in the event that belongs to exactly one patient.",
    )
    problem = models.CharField(max_length=200, blank=True, help_text="Why the event could not be read, if so.")
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.UniqueConstraint(fields=["connection", "href"], name="external_event_unique_href")]
        indexes = [models.Index(fields=["connection", "uid"])]

    def __str__(self) -> str:
        return self.title or self.uid or self.href


class ExternalOccurrence(models.Model):
    """One occurrence of an external event (a recurring event has one per repeat inside the booking
    horizon, expanded in its own time zone), in UTC. `busy` says whether it blocks booking."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="occurrences")
    event = models.ForeignKey(ExternalEvent, on_delete=models.CASCADE, related_name="occurrences")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    busy = models.BooleanField(default=True)
    # Series: a visit mapped to a series service, of a matched patient, counts once its time has passed.
    counted_in_series = models.BooleanField(default=False)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["connection", "starts_at"]),
            models.Index(fields=["practice", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="external_occurrence_in_order")
        ]

    def __str__(self) -> str:
        return f"{self.event} at {self.starts_at:%Y-%m-%d %H:%M} UTC"


class SyncedAppointment(models.Model):
    """The event we wrote for one of our visits into one connected calendar."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="written")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="calendar_events")
    uid = models.CharField(max_length=255)
    href = models.CharField(max_length=500)
    etag = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=64, help_text="What we last wrote, to write only changes.")
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "appointment"], name="synced_appointment_once_per_calendar")
        ]
        indexes = [models.Index(fields=["connection", "href"])]

    def __str__(self) -> str:
        return f"{self.uid} in {self.connection}"


class CalendarConflict(models.Model):
    """Something in a connected calendar that clashes with our visits, waiting for staff. Neither side is
    changed or dropped by the sync: the external event stays busy time and our visit stays booked."""

    class Kind(models.TextChoices):
        OVERLAP = "overlap", "An event overlaps one of our visits"
        EDITED = "edited", "Our visit's event was changed in the calendar"

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for staff"
        HANDLED = "handled", "Handled by staff"
        CLEARED = "cleared", "No longer clashes"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="calendar_conflicts")
    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="conflicts")
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="calendar_conflicts")
    event = models.ForeignKey(ExternalEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="conflicts")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.OVERLAP)
    event_title = models.CharField(max_length=255, blank=True)
    event_starts_at = models.DateTimeField(null=True, blank=True)
    event_ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-detected_at"]
        indexes = [models.Index(fields=["practice", "status"])]
        constraints = [
            # One open flag per clash, however often the sync sees it.
            models.UniqueConstraint(
                fields=["event", "appointment", "kind"],
                condition=Q(status="open"),
                name="calendar_conflict_open_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


class ProviderFeed(models.Model):
    """A read-only iCalendar feed of one provider's visits at a secret address. Making a new token
    revokes the old address at once."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    provider = models.OneToOneField("practices.Provider", on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True, help_text="Off: the address answers 'not found'.")
    event_details = models.CharField(
        max_length=20, choices=CalendarConnection.Detail.choices, default=CalendarConnection.Detail.SERVICE_FIRST_NAME
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"Feed of {self.provider}"

    def save(self, *args, **kwargs):
        if not self.token:
            self.token = new_feed_token()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.provider_id and self.practice_id and self.provider.practice_id != self.practice_id:
            raise ValidationError({"provider": "That provider belongs to another practice."})


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)
