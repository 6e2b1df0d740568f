"""Escalations: what the receptionist hands to trained staff, with a summary they can act on."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from practices.models import WEEKDAYS, StaffMember

# How soon staff should pick each kind up.
SLA = {
    "emergency": timedelta(minutes=5),
    "clinical": timedelta(hours=2),
    "human_request": timedelta(minutes=30),
    "complaint": timedelta(hours=4),
    "exception": timedelta(hours=24),
}


class Escalation(models.Model):
    class Category(models.TextChoices):
        EMERGENCY = "emergency", "Emergency"
        CLINICAL = "clinical", "Clinical question"
        HUMAN_REQUEST = "human_request", "Asked for a person"
        COMPLAINT = "complaint", "Complaint"
        EXCEPTION = "exception", "Exception (refund, discount, waiver)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLAIMED = "claimed", "Claimed"
        RESOLVED = "resolved", "Resolved"

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="escalations")
    patient = models.ForeignKey("practices.Patient", on_delete=models.SET_NULL, null=True, blank=True)
    conversation = models.ForeignKey(
        "calls.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="escalations"
    )
    source_message = models.ForeignKey(
        "calls.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    routed_to = models.ForeignKey(
        "practices.StaffMember",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="routed_escalations",
        help_text="Who the routing sent it to first (alerts and warm transfers go to them).",
    )
    routing_note = models.CharField(max_length=200, blank=True, help_text="Why it went to them, in plain words.")
    category = models.CharField(max_length=16, choices=Category.choices)
    priority = models.PositiveSmallIntegerField(help_text="0 is most urgent.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reasons = models.JSONField(default=list, blank=True, help_text="The rules that matched.")
    summary = models.JSONField(default=dict, help_text="The coordinator-ready summary.")
    sla_due_at = models.DateTimeField()
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="Staff notes: when, who, what.")
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()  # who changed what, when (django-simple-history)

    class Meta:
        ordering = ["priority", "sla_due_at"]
        indexes = [models.Index(fields=["practice", "status", "priority", "sla_due_at"])]

    def __str__(self) -> str:
        return f"{self.get_category_display()} ({self.get_status_display()})"


class RoutingRule(models.Model):
    """Who should get an escalation: by category and service, per location. The most specific rule that
    matches wins (person and location and service before role and practice-wide); among the people it
    names, those on duty get it, else the rule's fallback, else the practice's."""

    practice = models.ForeignKey("practices.Practice", on_delete=models.CASCADE, related_name="routing_rules")
    location = models.ForeignKey(
        "practices.Location", on_delete=models.CASCADE, null=True, blank=True, help_text="Empty: every location."
    )
    category = models.CharField(
        max_length=16, choices=Escalation.Category.choices, blank=True, help_text="Empty: every category."
    )
    service = models.ForeignKey(
        "practices.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        help_text="Empty: any service (or none mentioned).",
    )
    role = models.CharField(
        max_length=20,
        blank=True,
        choices=StaffMember.Role.choices,
        help_text="Everyone with this role (or name one person below).",
    )
    staff_member = models.ForeignKey(
        "practices.StaffMember", on_delete=models.CASCADE, null=True, blank=True, related_name="routing_rules"
    )
    fallback = models.ForeignKey(
        "practices.StaffMember",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Gets it when nobody this rule names is on duty.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["practice", "category", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role="") | models.Q(staff_member__isnull=False), name="routing_rule_names_someone"
            )
        ]

    def __str__(self) -> str:
        who = str(self.staff_member) if self.staff_member_id else self.get_role_display()
        return f"{self.get_category_display() or 'Any category'} -> {who}"

    def clean(self) -> None:
        errors = {}
        for name in ("location", "service", "staff_member", "fallback"):
            row = getattr(self, name) if getattr(self, f"{name}_id") else None
            if row is not None and row.practice_id != self.practice_id:
                errors[name] = "This belongs to another practice."
        if not self.role and not self.staff_member_id:
            errors["role"] = "Choose a role or name one person."
        if errors:
            raise ValidationError(errors)


class DutyShift(models.Model):
    """When a staff member is on duty for routed escalations (in the location's time, or the practice's
    when no location is given). Someone with no shifts at all is not on duty for routing."""

    staff_member = models.ForeignKey("practices.StaffMember", on_delete=models.CASCADE, related_name="duty_shifts")
    location = models.ForeignKey("practices.Location", on_delete=models.CASCADE, null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["staff_member", "weekday", "starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts_at__lt=models.F("ends_at")), name="duty_shift_in_order")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"

    def clean(self) -> None:
        if self.location_id and self.staff_member_id and self.location.practice_id != self.staff_member.practice_id:
            raise ValidationError({"location": "This location belongs to another practice."})
        if self.starts_at and self.ends_at and self.starts_at >= self.ends_at:
            raise ValidationError({"ends_at": "A shift ends after it starts (split a shift that runs past midnight)."})
