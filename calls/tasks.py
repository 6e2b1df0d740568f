"""django-q2 entry points for calls: ids in, safe to run twice."""

from django.utils import timezone

from .messaging.services import outreach_release_stale, outreach_send
from .models import Outreach

__all__ = ["outreach_send", "inbound_process", "outreach_sweep", "media_fetch"]


def inbound_process(message_id: int) -> str:
    from django.db.models import F

    from .models import Message
    from .services import inbound_process as process

    # Counted outside the processing transaction, so a crash still counts as a try.
    Message.objects.filter(pk=message_id, processed_at__isnull=True).update(process_attempts=F("process_attempts") + 1)
    return process(message_id=message_id)


def media_fetch(media_id: int) -> str:
    """Fetch a picture a patient texted into private storage (calls/media.py)."""
    from .media import media_fetch as fetch

    return fetch(media_id=media_id)


def outreach_sweep() -> int:
    """Every minute: send what is due (follow-ups, deferred messages, anything a restart dropped), and
    retry inbound messages whose handling failed."""
    from .dead_letters import inbound_retry_sweep
    from .media import media_retry_sweep
    from .outreach.intake import intake_sweep

    inbound_retry_sweep()
    media_retry_sweep()
    outreach_release_stale()
    intake_sweep()  # new patients' intake links (bookings from the API) and reminders that are due
    due = list(
        Outreach.objects.filter(state=Outreach.State.PENDING, due_at__lte=timezone.now())
        .order_by("due_at")
        .values_list("pk", flat=True)[:500]
    )
    for outreach_id in due:
        outreach_send(outreach_id)
    return len(due)


def series_prompts_all() -> int:
    """Hourly: rebooking prompts to series patients who are due or late (each at most once a week)."""
    from practices.models import Practice

    from .outreach.series import series_prompts

    return sum(series_prompts(practice=practice) for practice in Practice.objects.filter(is_active=True))


def retention_purge_all() -> dict:
    """Daily: each practice's retention period (calls/retention.py)."""
    from .retention import retention_purge_all as purge

    return purge(timezone.now())
