"""Open, claim and resolve escalations. Like booking, this app sends nothing: the caller alerts staff."""

from django.db import transaction
from django.utils import timezone

from practices.models import Patient, Practice

from .models import SLA, Escalation
from .routing import route
from .rules import PRIORITY, Category

SUMMARY_FIELDS = [
    "name",
    "phone",
    "new_or_returning",
    "location",
    "callback_time",
    "service_interest",
    "context",
    "question",
    "exact_words",
    "receptionist_said",
    "not_promised",
]


class EscalationError(Exception):
    pass


@transaction.atomic
def escalation_open(
    *,
    practice: Practice,
    category: str,
    summary: dict,
    reasons: list[str] | None = None,
    patient: Patient | None = None,
    conversation=None,
    source_message=None,
) -> tuple[Escalation, bool]:
    """Open an escalation, or return the open one of the same category for this conversation (a
    patient who writes three worried texts gets one escalation, kept current with their words)."""
    category = Category(category)
    now = timezone.now()
    summary = {name: summary.get(name, "") for name in SUMMARY_FIELDS}
    if conversation is not None:
        existing = (
            Escalation.objects.select_for_update()
            .filter(
                conversation=conversation,
                category=category,
                status__in=[Escalation.Status.OPEN, Escalation.Status.CLAIMED],
            )
            .first()
        )
        if existing:
            words = existing.summary.get("exact_words", "")
            if summary["exact_words"] and summary["exact_words"] not in words:
                existing.summary["exact_words"] = f"{words}\n{summary['exact_words']}".strip()
                existing.save(update_fields=["summary"])
            return existing, False
    escalation = Escalation(
        practice=practice,
        patient=patient,
        conversation=conversation,
        source_message=source_message,
        category=category,
        priority=PRIORITY[category],
        reasons=reasons or [],
        summary=summary,
        sla_due_at=now + SLA[category],
        created_at=now,
    )
    routing = route(escalation=escalation, at=now)  # who gets it first (escalations/routing.py)
    escalation.routed_to, escalation.routing_note = routing.staff_member, routing.note
    escalation.save(force_insert=True)
    return escalation, True


@transaction.atomic
def escalation_claim(*, escalation: Escalation, user) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.status == Escalation.Status.RESOLVED:
        raise EscalationError("This escalation is already resolved.")
    if escalation.status == Escalation.Status.CLAIMED and escalation.claimed_by_id != user.pk:
        raise EscalationError("Someone else has claimed this escalation.")
    escalation.status = Escalation.Status.CLAIMED
    escalation.claimed_by = user
    escalation.claimed_at = escalation.claimed_at or timezone.now()
    escalation.save(update_fields=["status", "claimed_by", "claimed_at"])
    return escalation


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, user, note: str) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if not note.strip():
        raise EscalationError("Say how it was resolved.")
    escalation.status = Escalation.Status.RESOLVED
    escalation.claimed_by = escalation.claimed_by or user
    escalation.claimed_at = escalation.claimed_at or timezone.now()
    escalation.resolved_at = timezone.now()
    escalation.resolution_note = note.strip()
    escalation.save(update_fields=["status", "claimed_by", "claimed_at", "resolved_at", "resolution_note"])
    return escalation


@transaction.atomic
def escalation_add_note(*, escalation: Escalation, user, note: str) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    escalation.notes = [
        *escalation.notes,
        {"at": timezone.now().isoformat(), "by": user.get_full_name() or user.get_username(), "text": note[:2000]},
    ]
    escalation.save(update_fields=["notes"])
    return escalation
