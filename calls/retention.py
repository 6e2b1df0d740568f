"""Each practice's retention period: what patients wrote and were sent, and whose number it was, is
erased from conversations older than it, and the pictures patients texted are deleted from storage. The
rows stay (so counts and rollups keep adding up) without their contents. Consent events and audit rows are
kept: they are the evidence.

Safe to run any number of times: a second run finds nothing left to erase.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from escalations.models import Escalation
from practices.models import Practice

from .media import media_purge
from .models import Call, Conversation, Message, Outreach


@transaction.atomic
def retention_purge(*, practice: Practice, now: datetime) -> dict[str, int]:
    cutoff = now - timedelta(days=practice.retention_days)
    erased = {
        # The pictures first: their files go from storage while the messages still say which they are.
        "media": media_purge(practice_id=practice.pk, cutoff=cutoff),
        "messages": Message.objects.filter(practice=practice, created_at__lt=cutoff)
        .filter(~Q(body="") | ~Q(extracted={}))
        .update(body="", extracted={}),
        "outreach": Outreach.objects.filter(practice=practice, created_at__lt=cutoff)
        .filter(~Q(body="") | ~Q(phone="") | ~Q(email=""))
        .update(body="", phone="", email=""),
        "calls": Call.objects.filter(practice=practice, started_at__lt=cutoff)
        .exclude(from_raw="", from_phone="")
        .update(from_raw="", from_phone=""),
    }
    # A conversation goes when nothing has happened in it since the cutoff.
    stale = (
        Conversation.objects.filter(practice=practice, created_at__lt=cutoff)
        .exclude(last_inbound_at__gte=cutoff)
        .exclude(last_outbound_at__gte=cutoff)
        .exclude(phone__startswith="purged-")
    )
    erased["conversations"] = 0
    for conversation in stale.only("pk"):
        erased["conversations"] += Conversation.objects.filter(pk=conversation.pk).update(
            phone=f"purged-{conversation.pk}", context={}, patient=None
        )
    # Escalations keep their category and times; the patient's words and staff notes go, history too.
    old = Escalation.objects.filter(practice=practice, created_at__lt=cutoff, status=Escalation.Status.RESOLVED)
    erased["escalations"] = old.filter(~Q(summary={}) | ~Q(notes=[]) | ~Q(resolution_note="")).update(
        summary={}, notes=[], resolution_note=""
    )
    Escalation.history.filter(id__in=old.values("pk")).filter(
        ~Q(summary={}) | ~Q(notes=[]) | ~Q(resolution_note="")
    ).update(summary={}, notes=[], resolution_note="")
    return erased


def retention_purge_all(now: datetime) -> dict[str, dict[str, int]]:
    return {practice.slug: retention_purge(practice=practice, now=now) for practice in Practice.objects.all()}
