"""Linking a new number to a patient, only when staff confirm.

Someone texting from a number we cannot put a name to (no patient, or only the record made from the
number itself) may say who they are: "This is Maria Lopez, DOB 3/14/1988". When a patient of this
practice has exactly that first and last name and that date of birth, a PatientLinkRequest waits for
staff on the conversation page. The texter hears the same neutral answer whether or not anything
matched, so nobody can learn from us who is a patient or what their records hold. Until staff confirm,
the thread stays with the number's own record, so the receptionist uses none of the matched patient's
history there.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from practices.models import Patient, PatientPhone
from practices.selectors import patient_is_identified

from .models import Call, Channel, Conversation, Message, Outreach, PatientLinkRequest
from .receptionist.identity import identity_claim, names_match

logger = logging.getLogger(__name__)

# Said whether or not the details matched anyone: it promises nothing and reveals nothing.
CLAIM_NOTED = (
    "Thanks! For your privacy, our team checks those details before connecting this number to any "
    "records, so I can't look anything up from here yet."
)


class LinkConflict(ValueError):
    pass


def identity_claim_receive(*, conversation: Conversation, message: Message) -> str | None:
    """A name and date of birth texted from a number we can't put a name to: a pending link request
    for each patient of the practice they match exactly (usually none or one). Returns what to tell
    the texter (the same either way), or None when the message makes no such claim.

    Assumes the message was stored in `conversation`, which has its patient (the number's own record).
    """
    if conversation.channel == Channel.VOICE or patient_is_identified(conversation.patient):
        return None
    claim = identity_claim(message.body, today=timezone.localdate(timezone=conversation.practice.zone))
    if claim is None:
        return None
    candidates = Patient.objects.filter(practice_id=conversation.practice_id, date_of_birth=claim.born_on).exclude(
        pk=conversation.patient_id
    )
    for patient in candidates:
        if names_match(claim, first_name=patient.first_name, last_name=patient.last_name):
            link_request, created = PatientLinkRequest.objects.get_or_create(
                conversation=conversation,
                patient=patient,
                status=PatientLinkRequest.Status.PENDING,
                defaults={"practice_id": conversation.practice_id, "phone": conversation.phone},
            )
            if created:
                logger.info("link request %s opened on conversation %s", link_request.pk, conversation.pk)
    return CLAIM_NOTED


def link_requests_pending(*, conversation: Conversation):
    return PatientLinkRequest.objects.filter(
        practice_id=conversation.practice_id, conversation=conversation, status=PatientLinkRequest.Status.PENDING
    ).select_related("patient")


@dataclass(frozen=True)
class LinkOutcome:
    link_request: PatientLinkRequest
    merged: bool = False  # the record made from the number alone was merged away
    kept_because: list[str] = field(default_factory=list)  # what that record has of its own, when kept


# Rows about the number rather than the person: they follow the number to the patient on a link.
_FOLLOW_THE_NUMBER = (Conversation, Call, Outreach)


def _own_rows(patient: Patient) -> list[str]:
    """What a patient record has of its own besides the number's threads, calls and messages."""
    found = []
    for relation in Patient._meta.related_objects:
        model = relation.related_model
        if model in _FOLLOW_THE_NUMBER:
            continue
        count = model._base_manager.filter(**{relation.field.name: patient}).count()
        if count:
            name = model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural
            found.append(f"{count} {name}")
    return found


@transaction.atomic
def link_request_confirm(*, link_request: PatientLinkRequest, user) -> LinkOutcome:
    """Staff checked: the texter is the patient. The number becomes one of theirs (PatientPhone); its
    threads, calls and messages point at them; the record made from the number alone is merged away
    when it has nothing else of its own, and kept otherwise (the outcome says what it has).

    Raises LinkConflict when the request was already decided or the number is another patient's.
    """
    link_request = PatientLinkRequest.objects.select_for_update().select_related("patient").get(pk=link_request.pk)
    if link_request.status != PatientLinkRequest.Status.PENDING:
        raise LinkConflict("This request was already decided.")
    patient, phone, practice_id = link_request.patient, link_request.phone, link_request.practice_id
    linked = PatientPhone.objects.filter(practice_id=practice_id, phone=phone).first()
    if linked is not None and linked.patient_id != patient.pk:
        raise LinkConflict("This number is already linked to another patient.")
    if linked is None and patient.phone != phone:
        PatientPhone.objects.create(practice_id=practice_id, patient=patient, phone=phone, added_by=user)
    number_record = Patient.objects.filter(practice_id=practice_id, phone=phone).exclude(pk=patient.pk).first()
    unclaimed = Q(patient__isnull=True) | (Q(patient=number_record) if number_record else Q(pk__in=[]))
    for model in (Conversation, Outreach):
        model.objects.filter(practice_id=practice_id, phone=phone).filter(unclaimed).update(patient=patient)
    Call.objects.filter(practice_id=practice_id, from_phone=phone).filter(unclaimed).update(patient=patient)
    kept_because = _own_rows(number_record) if number_record else []
    merged = number_record is not None and not kept_because
    if merged:
        number_record.delete()
    now = timezone.now()
    link_request.status = PatientLinkRequest.Status.CONFIRMED
    link_request.decided_by, link_request.decided_at = user, now
    link_request.save(update_fields=["status", "decided_by", "decided_at"])
    # One number, one patient: other people this number's texter seemed to match are not them.
    PatientLinkRequest.objects.filter(
        practice_id=practice_id, phone=phone, status=PatientLinkRequest.Status.PENDING
    ).update(status=PatientLinkRequest.Status.REJECTED, decided_by=user, decided_at=now)
    logger.info("link request %s confirmed (number's record merged: %s)", link_request.pk, merged)
    return LinkOutcome(link_request=link_request, merged=merged, kept_because=kept_because)


@transaction.atomic
def link_request_reject(*, link_request: PatientLinkRequest, user) -> PatientLinkRequest:
    """Staff say it is not the same person: nothing is linked. Raises LinkConflict when already decided."""
    decided = PatientLinkRequest.objects.filter(pk=link_request.pk, status=PatientLinkRequest.Status.PENDING).update(
        status=PatientLinkRequest.Status.REJECTED, decided_by=user, decided_at=timezone.now()
    )
    if not decided:
        raise LinkConflict("This request was already decided.")
    link_request.refresh_from_db()
    logger.info("link request %s rejected", link_request.pk)
    return link_request
