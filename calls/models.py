"""Every contact with a patient: calls, conversations, messages, and scheduled outreach."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


def patient_media_storage():
    """Private storage for patients' pictures: never served as static or media files, only through
    the console's audited view."""
    return storages["patient_media"]


class Channel(models.TextChoices):
    SMS = "sms", "Text message"
    WHATSAPP = "whatsapp", "WhatsApp"
    EMAIL = "email", "Email"
    VOICE = "voice", "Phone call"


class Call(models.Model):
    class MissedReason(models.TextChoices):
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed to ring"
        CANCELED = "canceled", "Caller hung up while ringing"
        AFTER_HOURS = "after_hours", "After hours"
        NOT_ACCEPTED = "not_accepted", "Voicemail or nobody took it"

    class AnsweredBy(models.TextChoices):
        NOBODY = "", "Nobody"
        STAFF = "staff", "Staff"
        RECEPTIONIST = "receptionist", "Receptionist"

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        CALLBACK = "callback", "Automated callback"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="calls")
    location = models.ForeignKey("practices.Location", on_delete=models.PROTECT, related_name="calls")
    phone_number = models.ForeignKey("practices.PhoneNumber", on_delete=models.PROTECT, related_name="calls")
    call_sid = models.CharField(max_length=64, unique=True)
    # Callers can be "anonymous" or international: kept as Twilio sent it, plus the E.164 form when valid.
    from_raw = models.CharField(max_length=40)
    from_phone = models.CharField(max_length=20, blank=True, db_index=True)
    patient = models.ForeignKey("practices.Patient", on_delete=models.SET_NULL, null=True, blank=True)
    status = models.CharField(max_length=20, default="ringing")
    dial_status = models.CharField(max_length=20, blank=True)
    dial_call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    accepted_by_staff = models.BooleanField(default=False)
    missed = models.BooleanField(default=False)
    missed_reason = models.CharField(max_length=20, choices=MissedReason.choices, blank=True)
    answered_by = models.CharField(max_length=20, choices=AnsweredBy.choices, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The number's campaign when the call came in (tracking numbers move between campaigns).
    campaign = models.ForeignKey(
        "practices.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls"
    )
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    callback_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="callbacks",
        help_text="For an automated callback: the missed call it answers.",
    )
    started_at = models.DateTimeField(default=timezone.now)
    missed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["practice", "-started_at"]),
            models.Index(fields=["practice", "missed", "-started_at"]),
        ]

    def __str__(self) -> str:
        return f"Call {self.pk} ({self.get_missed_reason_display() or self.status})"


class Conversation(models.Model):
    class State(models.TextChoices):
        GREETING = "greeting", "Greeting"
        QUALIFYING = "qualifying", "Qualifying"
        OFFERING = "offering", "Offering times"
        BOOKED = "booked", "Booked"
        HANDED_OFF = "handed_off", "With staff"
        CLOSED = "closed", "Closed"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="conversations")
    phone = models.CharField(
        max_length=254, help_text="The thread's address: an E.164 phone, or an email for email threads."
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    patient = models.ForeignKey(
        "practices.Patient", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    location = models.ForeignKey("practices.Location", on_delete=models.SET_NULL, null=True, blank=True)
    practice_number = models.CharField(max_length=20, blank=True, help_text="Our number in this thread.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.GREETING)
    taken_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    # The dialogue's memory: GLOW answers and scores, the times offered, misunderstandings in a row.
    context = models.JSONField(default=dict, blank=True)
    priority = models.DecimalField(
        max_digits=3, decimal_places=1, null=True, blank=True, help_text="GLOW composite, 1 to 5."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "phone", "channel"], name="one_conversation_per_thread")
        ]
        indexes = [
            # The console's list: newest patient activity first, threads nobody answered last.
            models.Index(
                F("practice"),
                F("last_inbound_at").desc(nulls_last=True),
                F("created_at").desc(),
                name="conversation_activity",
            ),
            models.Index(fields=["practice", "state"], name="conversation_state"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} ({self.get_channel_display()})"

    @property
    def staff_has_it(self) -> bool:
        return self.taken_over_by_id is not None


# Newest patient activity first; threads the patient never answered (NULL) last on every database.
BY_ACTIVITY = (F("last_inbound_at").desc(nulls_last=True), F("created_at").desc())


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "From the patient"
        OUTBOUND = "outbound", "To the patient"

    class Sender(models.TextChoices):
        PATIENT = "patient", "Patient"
        RECEPTIONIST = "receptionist", "Receptionist"
        STAFF = "staff", "Staff"

    # Twilio's statuses by how far along they are; a callback only ever moves a message forward.
    STATUS_RANK = {
        "accepted": 0,
        "scheduled": 0,
        "queued": 0,
        "sending": 1,
        "sent": 2,
        "receiving": 2,
        "received": 3,
        "delivered": 3,
        "undelivered": 3,
        "failed": 3,
        "canceled": 3,
        "partially_delivered": 3,
        "read": 4,
    }

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    sender = models.CharField(max_length=12, choices=Sender.choices)
    kind = models.CharField(max_length=30, blank=True, help_text="What an outbound message was for.")
    body = models.TextField(blank=True)
    provider_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=20, default="queued")
    error_code = models.CharField(max_length=10, blank=True)
    num_media = models.PositiveSmallIntegerField(default=0)
    intent = models.CharField(max_length=20, blank=True)
    extracted = models.JSONField(default=dict, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True, help_text="When the receptionist handled it.")
    process_attempts = models.PositiveSmallIntegerField(default=0, help_text="Tries at handling an inbound message.")
    dead_lettered_at = models.DateTimeField(
        null=True, blank=True, help_text="When we gave up handling it and handed it to staff."
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"]), models.Index(fields=["practice", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.get_channel_display()} {self.pk}"

    def status_moves_to(self, status: str) -> bool:
        """True when `status` is further along than the current one (callbacks arrive out of order)."""
        return self.STATUS_RANK.get(status, -1) > self.STATUS_RANK.get(self.status, -1)


class Outreach(models.Model):
    """One outbound message with a due time and a state: the text-back, each follow-up, every reply.

    Sent by a task queued at once and, should that be lost (a restart), by the sweep every minute.
    A worker claims a row by moving it from pending to sending in one UPDATE, so two workers never
    send it twice.
    """

    class Kind(models.TextChoices):
        TEXT_BACK = "text_back", "Missed-call text-back"
        FOLLOW_UP = "follow_up", "Follow-up"
        REPLY = "reply", "Reply"
        STAFF_REPLY = "staff_reply", "Staff reply"
        CONSENT = "consent", "Consent confirmation"
        STAFF_ALERT = "staff_alert", "Staff alert"
        REMINDER = "reminder", "Appointment reminder"
        REBOOK = "rebook", "Series rebooking prompt"
        INTAKE = "intake", "Intake form link or reminder"
        CALLBACK = "callback", "Automated voice callback"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent"
        CANCELLED = "cancelled", "Stopped"
        FAILED = "failed", "Failed"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="outreach")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    step = models.PositiveSmallIntegerField(default=0)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    template_key = models.CharField(max_length=60, blank=True)
    purpose = models.CharField(
        max_length=30, blank=True, help_text='What a reply did ("times_offered"); kept on its message as its kind.'
    )
    body = models.TextField(blank=True, help_text="Fixed text; empty means render template_key at send time.")
    automated = models.BooleanField(default=True, help_text="Automated messages wait out quiet hours.")
    patient = models.ForeignKey("practices.Patient", on_delete=models.SET_NULL, null=True, blank=True)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, null=True, blank=True, related_name="outreach")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, null=True, blank=True)
    location = models.ForeignKey("practices.Location", on_delete=models.SET_NULL, null=True, blank=True)
    appointment = models.ForeignKey(
        "booking.Appointment", on_delete=models.CASCADE, null=True, blank=True, related_name="outreach"
    )
    due_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    state_reason = models.CharField(max_length=120, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "due_at"]), models.Index(fields=["practice", "phone", "state"])]
        constraints = [
            # One text-back and one of each follow-up step per missed call, however often Twilio retries.
            models.UniqueConstraint(
                fields=["call", "kind", "step"], condition=Q(call__isnull=False), name="one_outreach_step_per_call"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.state})"


def media_upload_to(instance, filename: str) -> str:
    # No patient data in the path: the practice, the message and a random name.
    return f"patient-media/{instance.practice_id}/{instance.message_id}/{uuid.uuid4().hex}{Path(filename).suffix}"


class MessageMedia(models.Model):
    """A picture a patient texted (MMS). Fetched from Twilio with the account's credentials into our own
    storage; Twilio's address is kept only until then and never shown. Patient data: audited when
    staff view it, purged with the messages."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to fetch"
        STORED = "stored", "Stored"
        REFUSED = "refused", "Refused (size or type)"
        FAILED = "failed", "Could not fetch"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="media")
    index = models.PositiveSmallIntegerField(help_text="N in Twilio's MediaUrlN.")
    content_type = models.CharField(max_length=100)
    source_url = models.CharField(max_length=500, blank=True, help_text="Twilio's address; cleared once fetched.")
    file = models.FileField(upload_to=media_upload_to, storage=patient_media_storage, blank=True, max_length=200)
    size = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    escalation = models.ForeignKey(
        "escalations.Escalation", on_delete=models.SET_NULL, null=True, blank=True, related_name="media"
    )
    created_at = models.DateTimeField(default=timezone.now)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["message", "index"]
        constraints = [models.UniqueConstraint(fields=["message", "index"], name="one_media_per_index")]

    def __str__(self) -> str:
        return f"Media {self.pk} ({self.status})"


class PatientLinkRequest(models.Model):
    """Someone texting from a number we do not know gave a name and date of birth that match a patient.
    They are linked only when staff confirm."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for staff"
        CONFIRMED = "confirmed", "Linked"
        REJECTED = "rejected", "Not the same person"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="link_requests")
    phone = models.CharField(max_length=20)
    patient = models.ForeignKey("practices.Patient", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "patient"], condition=Q(status="pending"), name="one_pending_link_per_patient"
            )
        ]

    def __str__(self) -> str:
        return f"Link request {self.pk} ({self.status})"
