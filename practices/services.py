"""Actions that change practice data: patients and their contact consent."""

from django.db import transaction
from django.utils import timezone

from .models import ConsentEvent, ContactConsent, Patient, Practice
from .phones import normalize_phone


@transaction.atomic
def patient_get_or_create(*, practice: Practice, phone: str, **defaults) -> tuple[Patient, bool]:
    """The practice's patient with this phone, created with `defaults` when there is none.

    Raises InvalidPhoneNumber for a phone that is not a number. Safe under concurrent calls: the
    unique (practice, phone) constraint decides, and the loser reads the winner's row.
    """
    return Patient.objects.get_or_create(practice=practice, phone=normalize_phone(phone), defaults=defaults)


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
