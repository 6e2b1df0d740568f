"""Nothing is dropped silently. An inbound message whose handling fails is tried again with growing
waits (tries at 2, 4, 8, 16 and 32 minutes after it arrived); after MAX_PROCESS_ATTEMPTS tries it is dead-lettered: shown on the
console's problems page and put in the callbacks queue, so a person reads it and answers.

(Outbound messages have their own retries with backoff in calls/messaging/services.py, ending in a
staff callback; both are listed on the problems page.)
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .models import Message

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5
RETRY_WITHIN = timedelta(days=1)


def _due(message: Message, now) -> bool:
    """Try k comes 2**k minutes after the text arrived (2, 4, 8, 16, 32): waits that double."""
    return message.created_at + timedelta(minutes=2 ** (message.process_attempts + 1)) <= now


def inbound_retry_sweep(now=None) -> dict[str, int]:
    from .tasks import inbound_process

    now = now or timezone.now()
    stuck = Message.objects.filter(
        direction=Message.Direction.INBOUND,
        processed_at__isnull=True,
        dead_lettered_at__isnull=True,
        created_at__gte=now - RETRY_WITHIN,
        created_at__lte=now - timedelta(minutes=2),
    ).only("pk", "created_at", "process_attempts")
    retried = dead = 0
    for message in stuck:
        if message.process_attempts >= MAX_PROCESS_ATTEMPTS:
            dead += dead_letter(message.pk)
        elif _due(message, now):
            retried += 1
            try:
                inbound_process(message.pk)
            except Exception:  # counted; the next sweep tries again or dead-letters it
                logger.exception("inbound message %s failed again (try %s)", message.pk, message.process_attempts + 1)
    return {"retried": retried, "dead_lettered": dead}


@transaction.atomic
def dead_letter(message_id: int) -> int:
    """Give up on a message: mark it, and ask staff to read it and answer (once)."""
    from booking.services import callback_request
    from practices.services import patient_get_or_create

    marked = Message.objects.filter(pk=message_id, dead_lettered_at__isnull=True).update(
        dead_lettered_at=timezone.now()
    )
    if not marked:
        return 0
    message = Message.objects.select_related("conversation", "practice").get(pk=message_id)
    patient = (
        message.conversation.patient
        or patient_get_or_create(practice=message.practice, phone=message.conversation.phone)[0]
    )
    callback_request(patient=patient, reason="We couldn't handle their text automatically: read it and reply.")
    logger.warning("inbound message %s dead-lettered after %s tries", message_id, message.process_attempts)
    return 1
