"""Pictures patients text (MMS).

The webhook stores a PENDING row per picture with Twilio's address, in the transaction that stores the
message; a task fetches each one with the account's credentials (through the messaging backend) into
the private "patient_media" storage and forgets Twilio's address. The declared type is checked before
fetching; the real size and the bytes themselves (their magic numbers) after. A refused picture gets the
patient one polite reply per message; a picture that cannot be fetched is tried again with growing waits,
then marked FAILED for staff to see. Pictures go with the conversation's open escalation, so the nurse
sees the photo of a reaction first. Staff see them only through the console's audited view.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from escalations.models import Escalation

from .messaging.backends import FetchError, get_backend
from .messaging.services import outreach_to_patient
from .models import Message, MessageMedia, Outreach

logger = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio's own limit of pictures per message
MAX_FETCH_ATTEMPTS = 4
RETRY_WITHIN = timedelta(days=1)
# hand_off attaches the patient's pictures of the day before the message that opened the escalation.
ATTACH_WINDOW = timedelta(hours=24)
# A patient sending pictures one by one into an open escalation is thanked once, not for each.
ACKNOWLEDGE_EVERY = timedelta(minutes=10)
ACTIVE = [Escalation.Status.OPEN, Escalation.Status.CLAIMED]

TOO_LARGE, NOT_A_PHOTO = "too_large", "not_a_photo"
REFUSED_PURPOSE = "media_refused"
ACKNOWLEDGED_PURPOSE = "photo_received"
TYPE_NAMES = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
}
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/heif": ".heif",
}
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
HEIF_BRANDS = {b"mif1", b"msf1"}


@dataclass(frozen=True)
class IncomingMedia:
    """One MediaUrlN / MediaContentTypeN pair of a webhook."""

    url: str
    content_type: str


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes themselves say they are, whatever anyone declared; None if not an image."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        if data[8:12] in HEIC_BRANDS:
            return "image/heic"
        if data[8:12] in HEIF_BRANDS:
            return "image/heif"
    return None


def _active_escalation(conversation_id: int) -> Escalation | None:
    """The most urgent open or claimed escalation of a conversation."""
    return (
        Escalation.objects.filter(conversation_id=conversation_id, status__in=ACTIVE)
        .order_by("priority", "created_at")
        .first()
    )


def media_store(*, message: Message, media: Sequence[IncomingMedia]) -> list[MessageMedia]:
    """The rows of a newly stored message's pictures. Call it inside the transaction that stored the message
    (message_receive), so that a repeated webhook, which stores no message, stores no pictures either.
    A picture arriving while the conversation has an open escalation goes with it at once; fetching is
    queued after commit."""
    escalation = _active_escalation(message.conversation_id) if media else None
    rows = [
        MessageMedia.objects.create(
            practice_id=message.practice_id,
            message=message,
            index=index,
            content_type=item.content_type[:100],
            source_url=item.url[:500],
            escalation=escalation,
            created_at=message.created_at,
        )
        for index, item in enumerate(media[:MAX_MEDIA])
    ]
    for row in rows:
        transaction.on_commit(lambda pk=row.pk: _dispatch_fetch(pk))
    return rows


def _dispatch_fetch(media_id: int) -> None:
    from django_q.tasks import async_task

    async_task("calls.tasks.media_fetch", media_id, task_name=f"media-{media_id}")


def media_fetch(*, media_id: int) -> str:
    """Fetch one pending picture into private storage, or refuse it, or count a failed try. Safe to run
    twice at once: a try is claimed by moving `attempts` on from the value read, so only one runs.
    No transaction is held across the network."""
    media = MessageMedia.objects.filter(pk=media_id, status=MessageMedia.Status.PENDING).first()
    if media is None:
        return "nothing to fetch"
    claimed = MessageMedia.objects.filter(
        pk=media.pk, status=MessageMedia.Status.PENDING, attempts=media.attempts
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        return "another worker has it"
    attempts = media.attempts + 1
    allowed = settings.PATIENT_MEDIA_TYPES
    if media.content_type not in allowed:
        return _refuse(media, problem=NOT_A_PHOTO, reason=f"Not a photo we accept ({media.content_type}).")
    try:
        served_type, data = get_backend().fetch_media(media.source_url)
    except FetchError as exc:
        if exc.retryable and attempts < MAX_FETCH_ATTEMPTS:
            MessageMedia.objects.filter(pk=media.pk).update(status_reason=f"Try {attempts} failed: {exc}."[:200])
            logger.warning("picture %s not fetched (try %s), will retry", media.pk, attempts)
            return "will retry"
        MessageMedia.objects.filter(pk=media.pk, status=MessageMedia.Status.PENDING).update(
            status=MessageMedia.Status.FAILED,
            status_reason=f"Could not be fetched after {attempts} tries: {exc}."[:200],
        )
        logger.warning("picture %s could not be fetched after %s tries", media.pk, attempts)
        return "failed"
    limit = settings.PATIENT_MEDIA_MAX_BYTES
    if len(data) > limit:
        return _refuse(media, problem=TOO_LARGE, reason=f"Larger than the {_megabytes(limit)} limit.")
    kind = sniff_image(data)
    if kind not in allowed:
        served = f", served as {served_type}" if served_type else ""
        return _refuse(
            media,
            problem=NOT_A_PHOTO,
            reason=f"Declared {media.content_type}, but the file is not a photo we accept{served}."[:200],
        )
    media.file.save(f"{media.index}{EXTENSIONS[kind]}", ContentFile(data), save=False)
    stored = MessageMedia.objects.filter(pk=media.pk, status=MessageMedia.Status.PENDING).update(
        file=media.file.name,
        content_type=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        fetched_at=timezone.now(),
        source_url="",
        status=MessageMedia.Status.STORED,
        status_reason="",
    )
    if not stored:  # marked failed by the sweep meanwhile: keep no file that no row points to
        media.file.delete(save=False)
        return "too late"
    logger.info("picture %s stored", media.pk)
    return "stored"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _refusal_text(problem: str) -> str:
    if problem == TOO_LARGE:
        return (
            "Thanks! That picture is too large for us to receive "
            f"(the limit is {_megabytes(settings.PATIENT_MEDIA_MAX_BYTES)}). Could you send a smaller one?"
        )
    names = list(dict.fromkeys(TYPE_NAMES.get(kind, kind) for kind in settings.PATIENT_MEDIA_TYPES))
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return f"Thanks! We can only receive photos ({listed}). Could you send it as a photo?"


@transaction.atomic
def _refuse(media: MessageMedia, *, problem: str, reason: str) -> str:
    """Refuse a picture; the patient hears why once per message (the message row is locked, so two
    pictures refused at the same moment still make one reply). The text of the message is handled as usual."""
    message = Message.objects.select_for_update().select_related("conversation").get(pk=media.message_id)
    told_already = MessageMedia.objects.filter(message=message, status=MessageMedia.Status.REFUSED).exists()
    refused = MessageMedia.objects.filter(pk=media.pk, status=MessageMedia.Status.PENDING).update(
        status=MessageMedia.Status.REFUSED, status_reason=reason[:200], source_url=""
    )
    if refused and not told_already:
        outreach_to_patient(
            conversation=message.conversation,
            kind=Outreach.Kind.REPLY,
            body=_refusal_text(problem),
            purpose=REFUSED_PURPOSE,
        )
    logger.info("picture %s refused (%s)", media.pk, problem)
    return "refused"


def media_retry_sweep(now: datetime | None = None) -> dict[str, int]:
    """Every minute (with the outreach sweep): try again pictures whose fetch failed, try k+1 coming
    2**k minutes after the message arrived (1, 2, 4, 8), which also picks up a fetch task a restart lost;
    give up on any still pending after a day."""
    now = now or timezone.now()
    gave_up = MessageMedia.objects.filter(status=MessageMedia.Status.PENDING, created_at__lt=now - RETRY_WITHIN).update(
        status=MessageMedia.Status.FAILED, status_reason="Could not be fetched within a day."
    )
    waiting = MessageMedia.objects.filter(
        status=MessageMedia.Status.PENDING,
        created_at__gte=now - RETRY_WITHIN,
        created_at__lte=now - timedelta(minutes=1),
    ).only("pk", "created_at", "attempts")
    retried = 0
    for media in waiting:
        if media.created_at + timedelta(minutes=2**media.attempts) > now:
            continue
        retried += 1
        try:
            media_fetch(media_id=media.pk)
        except Exception:  # storage trouble: the try is counted, the next sweep goes on
            logger.exception("picture %s failed again (try %s)", media.pk, media.attempts + 1)
    return {"retried": retried, "gave_up": gave_up}


def media_attach_to_escalation(*, escalation: Escalation, message: Message) -> int:
    """Give an escalation the pictures of the message that opened or updated it and of the patient's
    other messages of the last 24 hours in that conversation. A picture already with a more urgent
    (or equally urgent) open escalation stays there."""
    return (
        MessageMedia.objects.filter(
            practice_id=escalation.practice_id,
            message__conversation_id=message.conversation_id,
            message__created_at__gte=message.created_at - ATTACH_WINDOW,
        )
        .filter(
            Q(escalation__isnull=True)
            | Q(escalation__status=Escalation.Status.RESOLVED)
            | Q(escalation__priority__gt=escalation.priority)
        )
        .update(escalation=escalation)
    )


def media_acknowledge(*, message: Message) -> bool:
    """A message of pictures and no words: nothing for the receptionist to understand, and no misunderstanding
    to count (two of those in a row hand the thread to staff as "couldn't understand"). Returns True when
    handled: with an open escalation (the pictures went to it on arrival) the patient is told the team will
    look; else, unless staff have the thread, asked what it is about. Either at most once in ten minutes.
    False for a message with words: the usual flow goes on."""
    if message.body.strip() or not message.num_media:
        return False
    conversation = message.conversation
    if _active_escalation(message.conversation_id) is not None:
        reply = "Thanks for the photo, our team will take a look."
    elif conversation.staff_has_it or conversation.state == conversation.State.HANDED_OFF:
        return True  # staff see it in the thread
    else:
        reply = "Thanks for the photo! Is it about booking a treatment, or a question for our team?"
    thanked = Outreach.objects.filter(
        conversation=conversation,
        purpose=ACKNOWLEDGED_PURPOSE,
        created_at__gte=timezone.now() - ACKNOWLEDGE_EVERY,
    ).exists()
    if not thanked and not conversation.staff_has_it:
        outreach_to_patient(
            conversation=conversation, kind=Outreach.Kind.REPLY, body=reply, purpose=ACKNOWLEDGED_PURPOSE
        )
    return True


def media_purge(*, practice_id: int, cutoff: datetime) -> int:
    """Retention: the pictures of messages older than the cutoff leave storage; their rows stay (type and
    size, for counts) without file, hash or Twilio's address. Files are deleted before the rows change, so a
    failure leaves no file behind that the rows no longer name. Safe to run again."""
    old = MessageMedia.objects.filter(practice_id=practice_id, message__created_at__lt=cutoff).exclude(
        file="", source_url="", sha256=""
    )
    for media in old.only("pk", "file", "practice_id", "message_id"):
        if media.file:
            media.file.delete(save=False)
    return old.update(file="", source_url="", sha256="", status_reason="Removed after the retention period.")
