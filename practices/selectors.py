"""Reads of practice data shared by pages, the API, the receptionist and analytics."""

from .message_templates import DEFAULTS, render
from .models import BlockedNumber, ContactConsent, Practice, StaffMember


def practice_by_slug(slug: str) -> Practice:
    return Practice.objects.get(slug=slug, is_active=True)


def message_text(*, practice: Practice, key: str, **context) -> str:
    """The practice's wording for message `key` (its override, else the default), filled in."""
    override = practice.message_templates.filter(key=key).values_list("body", flat=True).first()
    context.setdefault("brand", practice.brand_name)
    return render(override or DEFAULTS[key], context)


def consent_status(*, practice: Practice, phone: str) -> str:
    status = ContactConsent.objects.filter(practice=practice, phone=phone).values_list("status", flat=True).first()
    return status or ContactConsent.Status.UNKNOWN


def phone_is_opted_out(*, practice: Practice, phone: str) -> bool:
    return consent_status(practice=practice, phone=phone) == ContactConsent.Status.OPTED_OUT


def phone_is_blocked(*, practice: Practice, phone: str) -> bool:
    return BlockedNumber.objects.filter(practice=practice, phone=phone).exists()


def staff_for_alerts(*, practice: Practice):
    return StaffMember.objects.filter(practice=practice, receives_alerts=True).select_related("user")
