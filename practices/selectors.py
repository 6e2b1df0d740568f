"""Reads of practice data shared by pages, the API, the receptionist and analytics."""

from django.db import models

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


def location_is_open(*, location, at) -> bool:
    """Whether `location` is within business hours at the instant `at`, closures counted."""
    from .models import Closure

    local = at.astimezone(location.zone)
    wall = local.time()
    if not location.hours.filter(weekday=local.weekday(), opens_at__lte=wall, closes_at__gt=wall).exists():
        return False
    closures = Closure.objects.filter(
        practice_id=location.practice_id, starts_on__lte=local.date(), ends_on__gte=local.date()
    ).filter(models.Q(location=location) | models.Q(location__isnull=True))
    for closure in closures:
        if closure.from_time is None or closure.from_time <= wall < closure.to_time:
            return False
    return True
