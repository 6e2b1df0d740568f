"""Intake for new patients: the link to the form when they book, and one reminder if it is not done
`Practice.intake_reminder_hours` before the visit.

The form, its signed link and the answers live in booking/intake.py; this module only sends, through
calls/messaging like every other message (consent, opt-out, quiet hours and the practice's name are
enforced there). Entry points:
- `intake_invite` right after a booking by the receptionist or in the console (the link follows the
  confirmation by a minute, so the patient reads them in that order);
- `intake_sweep`, every minute from the outreach sweep: invites new patients booked any other way (the
  API: booking never imports calls) or missed by a hook, and sends the reminders that are due. Safe to
  run twice.

The text carries the link, so the conversation thread staff read shows it too: staff can already see
the patient's answers in the console, and a new link from the console revokes it.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from booking.intake import UPCOMING, VISITED, intake_for_appointment, intake_revoke, intake_url
from booking.models import Appointment, IntakeForm
from practices.models import Practice
from practices.selectors import message_text

from ..messaging.channels import preferred_route
from ..messaging.services import outreach_queue
from ..models import Outreach

logger = logging.getLogger(__name__)

LINK, REMINDER = 0, 1  # Outreach.step of the link and of the reminder
LINK_DELAY = timedelta(minutes=1)
# Bookings made this recently that have no form yet are invited by the sweep (it runs every minute).
CATCH_UP = timedelta(hours=24)
SWEEP_BATCH = 500
LIVE = (Outreach.State.PENDING, Outreach.State.SENDING, Outreach.State.SENT)


def _when(moment: datetime) -> str:
    return moment.strftime("%a %b %-d at %-I:%M %p")


def _queue(form: IntakeForm, *, step: int, due_at: datetime) -> Outreach:
    appointment, patient = form.appointment, form.patient
    route = preferred_route(patient=patient, phone=patient.phone)
    return outreach_queue(
        practice_id=form.practice_id,
        kind=Outreach.Kind.INTAKE,
        step=step,
        automated=True,
        phone=patient.phone,
        email=route.email,
        channel=route.channel,
        patient=patient,
        location=appointment.location,
        appointment=appointment,
        due_at=due_at,
        template_key="intake_link" if step == LINK else "intake_reminder",
        body=message_text(
            practice=form.practice,
            key="intake_link" if step == LINK else "intake_reminder",
            when=_when(appointment.local_start),
            link=intake_url(form),
        ),
    )


def _load(form_id: int) -> IntakeForm:
    return IntakeForm.objects.select_related("practice", "patient", "appointment__location").get(pk=form_id)


@transaction.atomic
def intake_invite(*, appointment: Appointment, delay: timedelta = LINK_DELAY) -> IntakeForm | None:
    """Give a new patient's visit its intake form and queue the link; None when no form is needed.

    Safe to call twice, and after a reschedule: the form follows the visit, and the link is queued again
    only if none is pending or sent (a reschedule by text stops the visit's pending messages).
    """
    form, _ = intake_for_appointment(appointment=appointment)
    if form is None or form.status != IntakeForm.Status.SENT:
        return None
    if Outreach.objects.filter(appointment=appointment, kind=Outreach.Kind.INTAKE, step=LINK, state__in=LIVE).exists():
        return form
    _queue(_load(form.pk), step=LINK, due_at=timezone.now() + delay)
    logger.info("intake form %s: link queued for appointment %s", form.pk, appointment.pk)
    return form


@transaction.atomic
def intake_link_renew(*, form: IntakeForm) -> Outreach | None:
    """Staff send a fresh link: every earlier link stops working (a new nonce), and the new one goes
    out now. None when the form is done or the visit is no longer upcoming."""
    form = _load(form.pk)
    now = timezone.now()
    if form.status != IntakeForm.Status.SENT:
        return None
    if form.appointment.status not in UPCOMING or form.appointment.starts_at <= now:
        return None
    form = intake_revoke(form=form)
    Outreach.objects.filter(
        appointment=form.appointment, kind=Outreach.Kind.INTAKE, state=Outreach.State.PENDING
    ).update(state=Outreach.State.CANCELLED, state_reason="a newer link was sent")
    outreach = _queue(_load(form.pk), step=LINK, due_at=now)
    logger.info("intake form %s: new link sent, earlier links revoked", form.pk)
    return outreach


def intake_stop_reason(outreach: Outreach) -> str:
    """Why a queued intake message must not go out any more (empty when it still should)."""
    form = IntakeForm.objects.filter(appointment_id=outreach.appointment_id).values_list("status", flat=True).first()
    if form is None:
        return "no intake form"
    if form == IntakeForm.Status.SUBMITTED:
        return "intake done"
    return ""


def _invite_recent(now: datetime) -> int:
    """New patients booked any other way (the API, the admin) get their link from here."""
    recent = (
        Appointment.objects.filter(
            status__in=UPCOMING,
            starts_at__gt=now,
            created_at__gte=now - CATCH_UP,
            intake__isnull=True,
            patient__is_returning=False,
        )
        .exclude(patient__appointments__status__in=VISITED)
        .exclude(patient__intake_forms__status=IntakeForm.Status.SUBMITTED)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    invited = 0
    for appointment in Appointment.objects.filter(pk__in=list(recent[:SWEEP_BATCH])).select_related("patient"):
        invited += intake_invite(appointment=appointment, delay=timedelta(0)) is not None
    return invited


def _remind_due(practice: Practice, now: datetime) -> int:
    hours = timedelta(hours=practice.intake_reminder_hours)
    if not hours:
        return 0
    due = IntakeForm.objects.filter(
        practice=practice,
        status=IntakeForm.Status.SENT,
        reminded_at__isnull=True,
        appointment__status__in=UPCOMING,
        appointment__starts_at__gt=now,
        appointment__starts_at__lte=now + hours,
    ).values_list("pk", "created_at", "appointment__starts_at")
    sent = 0
    for form_id, created_at, starts_at in due:
        # A visit booked inside the reminder window just had its link: that is reminder enough.
        if created_at >= starts_at - hours:
            continue
        with transaction.atomic():
            # Claimed with one conditional UPDATE: two sweeps never remind twice.
            if not IntakeForm.objects.filter(pk=form_id, reminded_at__isnull=True).update(reminded_at=now):
                continue
            form = _load(form_id)
            if form.expires_at != form.appointment.starts_at:
                form.expires_at = form.appointment.starts_at
                form.save(update_fields=["expires_at"])
            _queue(form, step=REMINDER, due_at=now)
        logger.info("intake form %s: reminder queued", form_id)
        sent += 1
    return sent


def intake_sweep(now: datetime | None = None) -> dict[str, int]:
    """Every minute: invite recent new patients who have no form yet, and send the reminders that are due."""
    now = now or timezone.now()
    invited = _invite_recent(now)
    reminded = sum(_remind_due(practice, now) for practice in Practice.objects.filter(is_active=True))
    return {"invited": invited, "reminded": reminded}
