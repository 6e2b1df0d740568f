"""Reads of practice data shared by pages, the API, the receptionist and analytics."""

from dataclasses import dataclass

from django.db import models

from .message_templates import DEFAULTS, render
from .models import BlockedNumber, ContactConsent, Patient, PatientPhone, Practice, StaffMember


def practice_by_slug(slug: str) -> Practice:
    return Practice.objects.get(slug=slug, is_active=True)


def message_text(*, practice: Practice, key: str, **context) -> str:
    """The practice's wording for message `key` (its override, else the default), filled in."""
    override = practice.message_templates.filter(key=key).values_list("body", flat=True).first()
    context.setdefault("brand", practice.brand_name)
    return render(override or DEFAULTS[key], context)


def patient_for_phone(*, practice: Practice | int, phone: str) -> Patient | None:
    """The practice's patient who uses `phone`, or None.

    A number staff linked to a patient (PatientPhone, after checking a name and date of birth) is theirs,
    even when a record was also created for that number before the link; otherwise the patient whose own
    number it is. `practice` may be the practice or its id.
    """
    if not phone:
        return None
    linked = PatientPhone.objects.filter(practice=practice, phone=phone).select_related("patient").first()
    if linked is not None:
        return linked.patient
    return Patient.objects.filter(practice=practice, phone=phone).first()


def patient_is_identified(patient: Patient | None) -> bool:
    """Whether we can put a name to a patient: a record made only from a phone number cannot."""
    return bool(patient and (patient.first_name or patient.last_name or patient.date_of_birth))


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


# What each coverage mode means for a call right now, by whether the location is open.
COVERAGE_NOW = {
    ("after_hours", True): "the desk answers; missed calls go to the callback queue",
    ("overflow", True): "the desk first, the receptionist if missed or busy",
    ("always", True): "the receptionist answers first",
}
COVERAGE_SHORT = {"after_hours": "after hours only", "overflow": "after hours and overflow", "always": "every call"}


@dataclass(frozen=True)
class LocationCoverage:
    location: str
    mode: str
    is_open: bool
    answers_now: str

    def __str__(self) -> str:
        state = "open now" if self.is_open else "closed now"
        return f"{self.location} — {COVERAGE_SHORT[self.mode]} ({state}: {self.answers_now})"


def location_coverage(*, practice: Practice, at) -> list[LocationCoverage]:
    """Each active location's coverage mode and who answers a call at `at` (closures count as closed)."""
    from .models import Location

    coverage = []
    for location in Location.objects.filter(practice=practice, is_active=True).order_by("name"):
        is_open = location_is_open(location=location, at=at)
        answers = COVERAGE_NOW.get((location.coverage_mode, is_open), "the receptionist answers")
        coverage.append(LocationCoverage(location.name, location.coverage_mode, is_open, answers))
    return coverage
