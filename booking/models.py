"""The calendar: appointments that never collide, treatment series, follow-up tasks, the waitlist."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


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
