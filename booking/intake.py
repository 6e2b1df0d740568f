"""New-patient intake: the form's record, its signed link, the answers, and the provider review they
can call for. Booking sends nothing: calls/outreach/intake.py texts the link and the reminder.

The link is `/intake/<token>/`, where the token is "<form id>.<nonce>.<expiry>" signed with
django.core.signing under its own salt. It opens one form (one patient, one visit) and nothing else:
- the signature stops any change to the id, the nonce or the expiry;
- the nonce is 32 random bytes kept on the form, so giving the form a new nonce revokes every link
  sent before;
- it expires at the expiry it carries or at the visit's start, whichever is sooner, and when the
  visit is cancelled.
"""

import secrets
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from practices.models import IntakeAcknowledgement, Patient, Practice, StaffMember

from .intake_rules import intake_flags, review_reasons
from .models import Appointment, IntakeForm

SALT = "booking.intake.link"
NONCE_BYTES = 32  # 43 URL-safe characters, the model's nonce length
UPCOMING = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)
VISITED = (Appointment.Status.CHECKED_IN, Appointment.Status.COMPLETED)


class IntakeLinkError(Exception):
    """A link that opens nothing. `status` is the page's HTTP status; the message is for logs (no PHI)."""

    status = 404


class IntakeLinkInvalid(IntakeLinkError):
    """Not a link we signed (made up, cut short or changed)."""


class IntakeLinkGone(IntakeLinkError):
    """A link we signed that no longer opens the form: expired, revoked, or the visit was cancelled."""

    status = 410


class IntakeAlreadySubmitted(Exception):
    pass


class IntakeReviewError(Exception):
    pass


def _nonce() -> str:
    return secrets.token_urlsafe(NONCE_BYTES)


def patient_is_new(*, patient: Patient, appointment: Appointment | None = None) -> bool:
    """A patient who has never visited, has not told us they have, and has never done intake."""
    if patient.is_returning:
        return False
    visits = Appointment.objects.filter(patient=patient, status__in=VISITED)
    if appointment is not None:
        visits = visits.exclude(pk=appointment.pk)
    if visits.exists():
        return False
    return not IntakeForm.objects.filter(patient=patient, status=IntakeForm.Status.SUBMITTED).exists()


def intake_needed(*, appointment: Appointment, now: datetime | None = None) -> bool:
    """Whether this visit should have an intake form: an upcoming visit of a new patient who has no
    form waiting for another upcoming visit."""
    now = now or timezone.now()
    if appointment.status not in UPCOMING or appointment.starts_at <= now:
        return False
    if not patient_is_new(patient=appointment.patient, appointment=appointment):
        return False
    return not (
        IntakeForm.objects.filter(
            patient=appointment.patient,
            status=IntakeForm.Status.SENT,
            appointment__status__in=UPCOMING,
            appointment__starts_at__gt=now,
        )
        .exclude(appointment=appointment)
        .exists()
    )


@transaction.atomic
def intake_for_appointment(*, appointment: Appointment) -> tuple[IntakeForm | None, bool]:
    """The visit's intake form, created when a new patient needs one; (form or None, created).

    An existing form that is not done follows the visit: its expiry moves with a rescheduled start.
    Safe to call twice and concurrently (the form is one-to-one with the visit).
    """
    existing = IntakeForm.objects.select_for_update().filter(appointment=appointment).first()
    if existing is not None:
        if existing.status == IntakeForm.Status.SENT and existing.expires_at != appointment.starts_at:
            existing.expires_at = appointment.starts_at
            existing.save(update_fields=["expires_at"])
        return existing, False
    if not intake_needed(appointment=appointment):
        return None, False
    try:
        with transaction.atomic():
            form = IntakeForm.objects.create(
                practice_id=appointment.practice_id,
                patient_id=appointment.patient_id,
                appointment=appointment,
                nonce=_nonce(),
                expires_at=appointment.starts_at,
            )
    except IntegrityError:
        return IntakeForm.objects.get(appointment=appointment), False
    return form, True


def intake_token(form: IntakeForm) -> str:
    """The signed token for the form's link; it stops working at the form's current expiry."""
    expires = signing.b62_encode(int(form.expires_at.timestamp()))
    return signing.Signer(salt=SALT).sign(f"{form.pk}.{form.nonce}.{expires}")


def intake_url(form: IntakeForm) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('intake-form', args=[intake_token(form)])}"


def intake_from_token(token: str, *, now: datetime | None = None) -> IntakeForm:
    """The form a link opens, or IntakeLinkInvalid (404) / IntakeLinkGone (410).

    A submitted form is returned all the same: the page says it is done, and a second submission is
    refused by `intake_submit`.
    """
    now = now or timezone.now()
    try:
        value = signing.Signer(salt=SALT).unsign(token)
        form_id, nonce, expires = value.split(".")
        form_id, expires_at = int(form_id), signing.b62_decode(expires)
    except (signing.BadSignature, ValueError) as exc:
        raise IntakeLinkInvalid("intake link: bad signature or shape") from exc
    form = (
        IntakeForm.objects.select_related("practice", "patient", "appointment__location", "appointment__service")
        .filter(pk=form_id)
        .first()
    )
    if form is None:
        raise IntakeLinkGone(f"intake link: form {form_id} is gone")
    if not constant_time_compare(form.nonce, nonce):
        raise IntakeLinkGone(f"intake link: form {form_id} was given a new nonce")
    if form.status == IntakeForm.Status.SUBMITTED:
        return form
    if form.appointment.status not in UPCOMING:
        raise IntakeLinkGone(f"intake link: form {form_id}'s visit is no longer booked")
    if now.timestamp() >= min(expires_at, form.expires_at.timestamp(), form.appointment.starts_at.timestamp()):
        raise IntakeLinkGone(f"intake link: form {form_id} expired")
    return form


def intake_open(*, form: IntakeForm) -> None:
    """Record the first time the patient opened the form."""
    if form.opened_at is None:
        now = timezone.now()
        IntakeForm.objects.filter(pk=form.pk, opened_at__isnull=True).update(opened_at=now)
        form.opened_at = now


def intake_acknowledgements(*, practice: Practice) -> list[IntakeAcknowledgement]:
    return list(IntakeAcknowledgement.objects.filter(practice=practice, is_active=True).order_by("order", "pk"))


PATIENT_FIELDS = ("first_name", "last_name", "email", "date_of_birth")


@transaction.atomic
def intake_submit(*, form: IntakeForm, answers: dict) -> IntakeForm:
    """Store the answers once; flag the visit for provider review when they touch the clinical boundary.

    `answers` are the form's cleaned answers (date of birth as a date). The form row is locked, so
    two submissions racing in store the first and refuse the second (IntakeAlreadySubmitted): a
    replayed POST changes nothing. The patient's contact details and date of birth are updated from
    their own answers.
    """
    form = IntakeForm.objects.select_for_update().select_related("appointment", "patient").get(pk=form.pk)
    if form.status == IntakeForm.Status.SUBMITTED:
        raise IntakeAlreadySubmitted("This form was already submitted.")
    now = timezone.now()
    stored = {key: (value.isoformat() if hasattr(value, "isoformat") else value) for key, value in answers.items()}
    flags = intake_flags(stored, today=timezone.localdate(timezone=form.appointment.location.zone))
    form.answers, form.flags = stored, flags
    form.status, form.submitted_at = IntakeForm.Status.SUBMITTED, now
    form.opened_at = form.opened_at or now
    form.save(update_fields=["answers", "flags", "status", "submitted_at", "opened_at"])

    patient = form.patient
    changed = [name for name in PATIENT_FIELDS if answers.get(name) and getattr(patient, name) != answers[name]]
    for name in changed:
        setattr(patient, name, answers[name])
    if changed:
        patient.save(update_fields=changed)  # through save, so the patient's history has it

    if flags:
        appointment = form.appointment
        appointment.needs_provider_review = True
        appointment.review_reasons = review_reasons(flags)
        appointment.reviewed_by, appointment.reviewed_at = None, None
        appointment.save(update_fields=["needs_provider_review", "review_reasons", "reviewed_by", "reviewed_at"])
    return form


@transaction.atomic
def intake_revoke(*, form: IntakeForm) -> IntakeForm:
    """Give the form a new nonce: every link sent before stops working (410)."""
    form = IntakeForm.objects.select_for_update().get(pk=form.pk)
    form.nonce = _nonce()
    form.save(update_fields=["nonce"])
    return form


def can_review(staff_member: StaffMember | None) -> bool:
    """Providers (nurse or injector), managers and owners sign off a provider review; front desk does not."""
    return staff_member is not None and staff_member.role in (
        StaffMember.Role.CLINICAL,
        StaffMember.Role.MANAGER,
        StaffMember.Role.OWNER,
    )


@transaction.atomic
def appointment_review_done(*, appointment: Appointment, user) -> Appointment:
    """A provider has reviewed the intake answers of a flagged visit. Assumes the caller checked the
    user may review (`can_review`)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not appointment.needs_provider_review:
        raise IntakeReviewError("This visit has nothing for a provider to review.")
    if appointment.reviewed_at is None:
        appointment.reviewed_by, appointment.reviewed_at = user, timezone.now()
        appointment.save(update_fields=["reviewed_by", "reviewed_at"])
    return appointment
