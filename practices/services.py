"""Actions that change practice data: patients and their contact consent."""

from django.db import transaction
from django.utils import timezone

from .models import ConsentEvent, ContactConsent, Patient, PatientPhone, Practice
from .phones import normalize_phone


@transaction.atomic
def patient_get_or_create(*, practice: Practice, phone: str, **defaults) -> tuple[Patient, bool]:
    """The practice's patient with this phone (their own, or one staff linked to them), created with
    `defaults` when there is none.

    Raises InvalidPhoneNumber for a phone that is not a number. Safe under concurrent calls: the
    unique (practice, phone) constraint decides, and the loser reads the winner's row.
    """
    phone = normalize_phone(phone)
    linked = PatientPhone.objects.filter(practice=practice, phone=phone).select_related("patient").first()
    if linked is not None:
        return linked.patient, False
    return Patient.objects.get_or_create(practice=practice, phone=phone, defaults=defaults)


_STATUS_AFTER = {
    ConsentEvent.Kind.OPT_IN: ContactConsent.Status.OPTED_IN,
    ConsentEvent.Kind.OPT_OUT: ContactConsent.Status.OPTED_OUT,
}


@transaction.atomic
def consent_record(
    *,
    practice: Practice,
    phone: str,
    kind: str,
    source: str,
    told: str = "",
    evidence: str = "",
    recorded_by=None,
) -> ConsentEvent:
    """Append a consent event and move the phone's current consent to match.

    The ContactConsent row is locked for the change, so two keywords racing in apply in order.
    """
    phone = normalize_phone(phone)
    now = timezone.now()
    consent, _ = ContactConsent.objects.select_for_update().get_or_create(practice=practice, phone=phone)
    event = ConsentEvent.objects.create(
        practice=practice,
        phone=phone,
        kind=kind,
        source=source,
        told=told,
        evidence=evidence,
        recorded_by=recorded_by,
        occurred_at=now,
    )
    if kind in _STATUS_AFTER:
        consent.status = _STATUS_AFTER[kind]
    if kind == ConsentEvent.Kind.WHATSAPP_OPT_IN:
        consent.whatsapp_opted_in = True
    if kind == ConsentEvent.Kind.OPT_OUT:
        consent.whatsapp_opted_in = False
    consent.updated_at = now
    consent.save(update_fields=["status", "whatsapp_opted_in", "updated_at"])
    return event


# Channels a reminder or follow-up can go by. A phone call is how a patient reaches us, not a channel we
# remind them on, so answering on a call teaches nothing about it.
REMINDER_CHANNELS = (Patient.Channel.SMS, Patient.Channel.WHATSAPP, Patient.Channel.EMAIL)


def _keeps_channel(patient: Patient, channel: str) -> bool:
    chosen = patient.preferred_channel_set_by in (Patient.ChannelSetBy.PATIENT, Patient.ChannelSetBy.STAFF)
    learned = patient.preferred_channel == channel and patient.preferred_channel_set_by == Patient.ChannelSetBy.LEARNED
    return chosen or learned


@transaction.atomic
def patient_channel_learn(*, patient: Patient, channel: str) -> bool:
    """The channel a patient just answered on becomes their preferred channel, marked as learned.

    Never overrides a choice the patient or staff made, and ignores channels we do not remind on (a
    voice call). Saved through the model, so the patient's history shows when it changed. True when
    it changed.
    """
    if channel not in REMINDER_CHANNELS or _keeps_channel(patient, channel):
        return False  # nothing to change: no row lock on every message a patient sends
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if _keeps_channel(patient, channel):
        return False
    patient.preferred_channel = channel
    patient.preferred_channel_set_by = Patient.ChannelSetBy.LEARNED
    patient.save(update_fields=["preferred_channel", "preferred_channel_set_by"])
    return True


@transaction.atomic
def patient_channel_set(*, patient: Patient, channel: str, set_by: str) -> Patient:
    """Staff (or the patient, in words) choose the channel: learning never changes it afterwards.

    Raises ValueError for a channel that is not a reminder channel or an unknown `set_by`.
    """
    if channel not in REMINDER_CHANNELS:
        raise ValueError("Reminders go by text message, WhatsApp or email.")
    if set_by not in (Patient.ChannelSetBy.PATIENT, Patient.ChannelSetBy.STAFF):
        raise ValueError("Only the patient or staff choose a channel.")
    if channel == Patient.Channel.EMAIL and not patient.email:
        raise ValueError("This patient has no email address yet.")
    patient.preferred_channel = channel
    patient.preferred_channel_set_by = set_by
    patient.save(update_fields=["preferred_channel", "preferred_channel_set_by"])
    return patient
