"""Tenancy and configuration: the practice, its places, people, menu and patients."""

import zoneinfo
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .phones import PhoneNumberField

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as America/New_York.")


def validate_string_list(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Enter a list of words or phrases.")


class Practice(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    brand_name = models.CharField(max_length=120, help_text="The name patients know, used in every message.")
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    quiet_hours_start = models.TimeField(default=time(21, 0), help_text="No automated message from this time...")
    quiet_hours_end = models.TimeField(default=time(8, 0), help_text="...until this time, in the patient's time.")
    average_visit_value = models.DecimalField(max_digits=9, decimal_places=2, default=Decimal("527.00"))
    retention_days = models.PositiveIntegerField(
        default=2555, validators=[MinValueValidator(30)], help_text="Conversations older than this are purged."
    )
    min_notice_minutes = models.PositiveIntegerField(default=120, help_text="Earliest a patient can book ahead.")
    booking_horizon_days = models.PositiveIntegerField(default=90, validators=[MinValueValidator(1)])
    slot_step_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(60)]
    )
    contact_phone = PhoneNumberField(blank=True, help_text="Given to patients who text HELP.")
    contact_email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    voice_callbacks = models.BooleanField(
        default=False,
        help_text="Call back a missed caller who said nothing and did not answer the text: once, in allowed hours.",
    )
    intake_reminder_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Remind a new patient this many hours before the visit if intake is not done."
    )
    routing_fallback = models.ForeignKey(
        "StaffMember",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Gets escalations when nobody routed is on duty (empty: everyone who receives alerts).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def clean(self) -> None:
        if self.routing_fallback_id and self.routing_fallback.practice_id != self.pk:
            raise ValidationError({"routing_fallback": "This person works for another practice."})


class Location(models.Model):
    class Coverage(models.TextChoices):
        AFTER_HOURS = "after_hours", "After hours only"
        OVERFLOW = "overflow", "After hours and overflow (missed or busy calls)"
        ALWAYS = "always", "Every call: the receptionist answers first"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    address = models.TextField(help_text="Street, city, state and ZIP as patients should read it.")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    phone = PhoneNumberField(help_text="The front-desk line.")
    parking = models.TextField(blank=True)
    coverage_mode = models.CharField(
        max_length=12,
        choices=Coverage.choices,
        default=Coverage.OVERFLOW,
        help_text="Which calls the receptionist answers. Holidays and closures count as after hours.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["practice", "name"]
        constraints = [models.UniqueConstraint(fields=["practice", "slug"], name="location_slug_unique_in_practice")]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class BusinessHours(models.Model):
    """One open interval of a location on a weekday; a day can have several (a lunch break)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["location", "weekday", "opens_at"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(condition=Q(opens_at__lt=F("closes_at")), name="hours_open_before_close"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="hours_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class Closure(models.Model):
    """A holiday or closure: whole days, or a window on each of those days (closes early)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="closures")
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        help_text="Leave empty when every location is closed.",
    )
    name = models.CharField(max_length=120)
    starts_on = models.DateField()
    ends_on = models.DateField()
    from_time = models.TimeField(null=True, blank=True, help_text="Only closed from this time (empty: all day).")
    to_time = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_on__lte=F("ends_on")), name="closure_dates_in_order"),
            models.CheckConstraint(
                condition=(Q(from_time__isnull=True) & Q(to_time__isnull=True))
                | (Q(from_time__isnull=False) & Q(to_time__isnull=False) & Q(from_time__lt=F("to_time"))),
                name="closure_times_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.starts_on:%b %d})"

    def clean(self) -> None:
        if self.location_id and self.location.practice_id != self.practice_id:
            raise ValidationError({"location": "This location belongs to another practice."})


class Provider(models.Model):
    class Credential(models.TextChoices):
        MD = "md", "MD"
        DO = "do", "DO"
        NP = "np", "Nurse practitioner (NP)"
        PA = "pa", "Physician assistant (PA)"
        RN = "rn", "Registered nurse (RN)"
        AESTHETICIAN = "aesthetician", "Licensed aesthetician"
        LASER_TECH = "laser_tech", "Laser technician"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="providers")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    credential = models.CharField(max_length=20, choices=Credential.choices)
    locations = models.ManyToManyField(Location, related_name="providers", blank=True)
    services = models.ManyToManyField("Service", related_name="providers", blank=True)
    email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}, {self.credential_short}"

    @property
    def credential_short(self) -> str:
        """MD, NP, RN...: how a schedule or a staff alert names the credential."""
        label = self.get_credential_display()
        return label[label.index("(") + 1 : -1] if "(" in label else label

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ProviderShift(models.Model):
    """A weekly working interval of a provider at one location, in the location's wall time."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="shifts")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["provider", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="shift_starts_before_end"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="shift_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M} at {self.location}"

    def clean(self) -> None:
        if self.provider_id and self.location_id and self.location.practice_id != self.provider.practice_id:
            raise ValidationError({"location": "This location belongs to another practice."})


class ProviderTimeOff(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "provider time off"
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="time_off_starts_before_end"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} off {self.starts_at:%Y-%m-%d %H:%M}"


class Service(models.Model):
    class Category(models.TextChoices):
        NEUROMODULATOR = "neuromodulator", "Neuromodulators (tox)"
        FILLER = "filler", "Dermal fillers"
        SKIN = "skin", "Skin treatments"
        LASER = "laser", "Laser and light"
        BODY = "body", "Body contouring"
        WELLNESS = "wellness", "Wellness"
        CONSULTATION = "consultation", "Consultation"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(5), MaxValueValidator(480)])
    buffer_after_minutes = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(120)])
    price_min = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    price_max = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    price_unit = models.CharField(max_length=40, blank=True, help_text='Such as "per unit" or "per syringe".')
    visit_value = models.DecimalField(
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What a typical visit brings in. Empty: the middle of the price range. Used for revenue figures.",
    )
    return_interval_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
        help_text="Usual days until the next visit (tox about 90); offered at checkout outside a series.",
    )
    consultation_required_for_new = models.BooleanField(
        default=False, help_text="New patients book a consultation first."
    )
    synonyms = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text='Words patients use, such as ["tox", "wrinkle relaxer"].',
    )
    prep_instructions = models.TextField(blank=True)
    aftercare_instructions = models.TextField(blank=True)
    contraindication_cues = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Words that send a question to staff, such as pregnancy or blood thinners.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "slug"], name="service_slug_unique_in_practice"),
            models.CheckConstraint(
                condition=Q(price_min__isnull=True) | Q(price_max__isnull=True) | Q(price_min__lte=F("price_max")),
                name="service_price_range_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def price_range_text(self) -> str:
        """The published range as patients read it, or an empty string when none is published."""
        if self.price_min is None:
            return ""
        unit = f" {self.price_unit}" if self.price_unit else ""
        if self.price_max is None or self.price_max == self.price_min:
            return f"${self.price_min:,.0f}{unit}"
        return f"${self.price_min:,.0f}-${self.price_max:,.0f}{unit}"

    @property
    def expected_value(self) -> Decimal | None:
        """What a visit is worth for revenue figures: the set visit value, else the middle of a whole-visit
        price range. A per-unit price says nothing about a visit, so it gives None (unknown)."""
        if self.visit_value is not None:
            return self.visit_value
        if self.price_min is None or self.price_unit:
            return None
        return ((self.price_min + (self.price_max or self.price_min)) / 2).quantize(Decimal("0.01"))


class Resource(models.Model):
    class Kind(models.TextChoices):
        ROOM = "room", "Room"
        DEVICE = "device", "Device"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="resources")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    services = models.ManyToManyField(
        Service, related_name="resources", blank=True, help_text="Treatments that need this room or device."
    )
    capacity = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(20)], help_text="Visits at once."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location", "name"]
        constraints = [models.CheckConstraint(condition=Q(capacity__gte=1), name="resource_capacity_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"

    def clean(self) -> None:
        if self.location_id and self.location.practice_id != self.practice_id:
            raise ValidationError({"location": "This location belongs to another practice."})


class ApprovedAnswer(models.Model):
    """An answer the practice approved; the receptionist says nothing else on its topic."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="approved_answers")
    topic = models.SlugField(max_length=60)
    title = models.CharField(max_length=120)
    phrasings = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_string_list],
        help_text="Questions this answers, in patients' words.",
    )
    answer = models.TextField()
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["topic"]
        constraints = [models.UniqueConstraint(fields=["practice", "topic"], name="approved_answer_topic_unique")]

    def __str__(self) -> str:
        return self.title


class MessageTemplate(models.Model):
    """A practice's wording for one outbound message; the default wording lives in message_templates.py."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="message_templates")
    key = models.CharField(max_length=60)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["practice", "key"], name="message_template_key_unique")]

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        from .message_templates import validate_template_body

        validate_template_body(key=self.key, body=self.body)


class StaffMember(models.Model):
    class Role(models.TextChoices):
        FRONT_DESK = "front_desk", "Front desk"
        CLINICAL = "clinical", "Nurse or injector"
        MANAGER = "manager", "Manager"
        OWNER = "owner", "Owner"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_member")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.FRONT_DESK)
    phone = PhoneNumberField(blank=True, help_text="For urgent alerts by text.")
    email = models.EmailField(blank=True)
    receives_alerts = models.BooleanField(default=True)

    class Meta:
        ordering = ["practice", "role"]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.get_username()} ({self.get_role_display()})"

    @property
    def manages(self) -> bool:
        return self.role in {self.Role.MANAGER, self.Role.OWNER}


class PhoneNumber(models.Model):
    """A Twilio number of the practice and where its calls ring first."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="phone_numbers")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="phone_numbers")
    number = PhoneNumberField(unique=True, help_text="The Twilio number patients call and text.")
    twilio_sid = models.CharField(max_length=40, blank=True)
    label = models.CharField(max_length=80, blank=True)
    forwards_to = PhoneNumberField(help_text="The front-desk line that rings first.")
    ring_timeout_seconds = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(5), MaxValueValidator(60)]
    )
    campaign = models.ForeignKey(
        "Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="phone_numbers",
        help_text="A tracking number: calls to it count toward this campaign.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["practice", "number"]

    def __str__(self) -> str:
        return f"{self.number} ({self.label or self.location})"

    def clean(self) -> None:
        if self.location_id and self.location.practice_id != self.practice_id:
            raise ValidationError({"location": "This location belongs to another practice."})


class Patient(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "Text message"
        EMAIL = "email", "Email"
        WHATSAPP = "whatsapp", "WhatsApp"
        VOICE = "voice", "Phone call"

    class ChannelSetBy(models.TextChoices):
        DEFAULT = "", "Default"
        LEARNED = "learned", "Learned from replies"
        PATIENT = "patient", "The patient"
        STAFF = "staff", "Staff"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="patients")
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    phone = PhoneNumberField()
    email = models.EmailField(blank=True)
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    preferred_channel_set_by = models.CharField(
        max_length=8,
        choices=ChannelSetBy.choices,
        default=ChannelSetBy.DEFAULT,
        blank=True,
        help_text="Learned from the channel they answer on, unless they or staff chose one.",
    )
    date_of_birth = models.DateField(null=True, blank=True)
    is_returning = models.BooleanField(default=False, help_text="Has visited before.")
    home_location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()  # who changed what, when (django-simple-history)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [models.UniqueConstraint(fields=["practice", "phone"], name="patient_phone_unique_in_practice")]
        indexes = [models.Index(fields=["practice", "last_name"])]

    def __str__(self) -> str:
        return self.full_name or f"Patient {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class PatientPhone(models.Model):
    """Another number a patient uses, linked by staff after the patient gave a matching name and date of
    birth from it. Calls and texts from it are theirs."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="other_phones")
    phone = PhoneNumberField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at"]
        constraints = [models.UniqueConstraint(fields=["practice", "phone"], name="patient_phone_other_unique")]

    def __str__(self) -> str:
        return self.phone

    def clean(self) -> None:
        if self.patient_id and self.patient.practice_id != self.practice_id:
            raise ValidationError({"patient": "This patient belongs to another practice."})


class IntakeAcknowledgement(models.Model):
    """A statement a new patient must acknowledge on the intake form (the practice's own wording)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="intake_acknowledgements")
    title = models.CharField(max_length=120)
    text = models.TextField(help_text="What the patient reads and agrees to.")
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["practice", "order", "pk"]

    def __str__(self) -> str:
        return self.title


class ContactConsent(models.Model):
    """Whether automated messages may go to a phone, per practice; the ConsentEvent log explains why."""

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "No answer yet"
        OPTED_IN = "opted_in", "Opted in"
        OPTED_OUT = "opted_out", "Opted out"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="consents")
    phone = PhoneNumberField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    whatsapp_opted_in = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()  # who changed what, when (django-simple-history)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "phone"], name="consent_phone_unique_in_practice")]

    def __str__(self) -> str:
        return f"{self.phone}: {self.get_status_display()}"


class ConsentEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Consent events are append-only: they cannot be updated.")

    def delete(self):
        raise TypeError("Consent events are append-only: they cannot be deleted.")


class ConsentEvent(models.Model):
    """One consent change: when, how, and what the patient was told. Never edited or deleted
    (the database refuses too: see the trigger in the migration)."""

    class Kind(models.TextChoices):
        OPT_IN = "opt_in", "Opted in"
        OPT_OUT = "opt_out", "Opted out"
        WHATSAPP_OPT_IN = "whatsapp_opt_in", "Opted in to WhatsApp"
        HELP = "help", "Asked for help"

    class Source(models.TextChoices):
        SMS_KEYWORD = "sms_keyword", "Texted a keyword"
        SMS_WORDING = "sms_wording", "Asked in their own words"
        CARRIER = "carrier", "Carrier reported opt-out"
        STAFF = "staff", "Recorded by staff"
        WEB_FORM = "web_form", "Web form"
        VERBAL = "verbal", "Said on a call"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="consent_events")
    phone = PhoneNumberField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    told = models.TextField(blank=True, help_text="What the patient was told, word for word.")
    evidence = models.CharField(max_length=80, blank=True, help_text="A message SID or similar reference.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ConsentEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["practice", "phone", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} via {self.get_source_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Consent events are append-only: they cannot be changed once recorded.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Consent events are append-only: they cannot be deleted.")


class BlockedNumber(models.Model):
    """Known spam or abusive numbers: never texted back."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="blocked_numbers")
    phone = PhoneNumberField()
    reason = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "phone"], name="blocked_phone_unique_in_practice")]

    def __str__(self) -> str:
        return self.phone


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        PAST_DUE = "past_due", "Past due"
        CANCELLED = "cancelled", "Cancelled"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="memberships")
    plan = models.CharField(max_length=80)
    monthly_price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    credits = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    renews_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    started_on = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["-started_on"]

    def __str__(self) -> str:
        return f"{self.plan} ({self.get_status_display()})"

    def clean(self) -> None:
        if self.patient_id and self.patient.practice_id != self.practice_id:
            raise ValidationError({"patient": "This patient belongs to another practice."})


class Campaign(models.Model):
    """An event or offer the practice promotes; its approved text is all the receptionist may say."""

    class Kind(models.TextChoices):
        EVENT = "event", "Event (open house, VIP night, injectable day)"
        OFFER = "offer", "Offer or seasonal special"
        REFERRAL = "referral", "Referral program"

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts_on = models.DateField()
    ends_on = models.DateField()
    deadline = models.DateField(null=True, blank=True, help_text="Last day to claim or RSVP.")
    services = models.ManyToManyField(Service, related_name="campaigns", blank=True)
    offer_text = models.TextField(help_text="The approved wording of the offer.")
    deposit_amount = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    source_code = models.SlugField(max_length=40, help_text="Tracks calls and bookings from this campaign.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "source_code"], name="campaign_source_unique"),
            models.CheckConstraint(condition=Q(starts_on__lte=F("ends_on")), name="campaign_dates_in_order"),
        ]

    def __str__(self) -> str:
        return self.name


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only: they cannot be updated.")

    def delete(self):
        raise TypeError("Audit events are append-only: they cannot be deleted.")


class AuditEvent(models.Model):
    """One look at patient data: who, what, when, from where. Written before the page is sent (if the
    write fails, so does the request); never edited or deleted (the database refuses too)."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept if the account is deleted.")
    action = models.CharField(max_length=12, default="view")
    what = models.CharField(max_length=60, help_text='What was seen, like "patient" or "conversation list".')
    object_id = models.CharField(max_length=40, blank=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["practice", "-at"]), models.Index(fields=["what", "object_id"])]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.what} {self.object_id}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Audit events are append-only: they cannot be changed once recorded.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only: they cannot be deleted.")
