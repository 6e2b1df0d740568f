"""Escalations: what the receptionist hands to trained staff, with a summary they can act on."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

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
