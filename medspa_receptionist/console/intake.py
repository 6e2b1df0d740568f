"""Intake in the console: a new patient's answers (audited), the provider's sign-off on a flagged visit,
and a fresh link when the patient lost theirs."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from booking import intake
from booking.models import IntakeForm
from calls.outreach.intake import intake_link_renew
from practices.audit import audited
from practices.models import StaffMember

from .views import _back, _page, staff_view

ANSWERS = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("date_of_birth", "Date of birth"),
    ("medications", "Medications and supplements"),
    ("allergies", "Allergies"),
    ("pregnancy", "Pregnant, trying to conceive or breastfeeding"),
    ("isotretinoin", "Isotretinoin (Accutane) in the last 12 months"),
    ("conditions", "Health conditions"),
    ("prior_treatments", "Prior aesthetic treatments"),
]
CHOICES = {"yes": "Yes", "no": "No", "unsure": "Not sure"}


def _intake_for_staff(request, pk: int) -> IntakeForm:
    """The practice's intake form: another practice's id is a 404."""
    return get_object_or_404(
        IntakeForm.objects.select_related(
            "patient",
            "appointment__service",
            "appointment__provider",
            "appointment__location",
            "appointment__reviewed_by",
        ),
        practice=request.practice,
        pk=pk,
    )


def _answer_rows(form: IntakeForm) -> list[tuple[str, str]]:
    if form.status != IntakeForm.Status.SUBMITTED:
        return []
    rows = []
    for key, label in ANSWERS:
        value = form.answers.get(key) or ""
        rows.append((label, CHOICES.get(value, value) if key in ("pregnancy", "isotretinoin") else value))
    return rows


def _staff_member(request) -> StaffMember | None:
    return StaffMember.objects.filter(user=request.user, practice=request.practice).first()


@require_GET
@staff_view
@audited("intake")
def intake_detail(request, pk: int):
    form = _intake_for_staff(request, pk)
    appointment = form.appointment
    return _page(
        request,
        "console/intake.html",
        {
            "intake": form,
            "appointment": appointment,
            "patient": form.patient,
            "answers": _answer_rows(form),
            "acknowledged": form.answers.get("acknowledged", []),
            "can_review": intake.can_review(_staff_member(request)),
            "can_resend": form.status == IntakeForm.Status.SENT
            and appointment.status in intake.UPCOMING
            and appointment.starts_at > timezone.now(),
            "intake_messages": appointment.outreach.filter(kind="intake").order_by("created_at"),
        },
    )


@require_POST
@staff_view
def intake_review_done(request, pk: int):
    form = _intake_for_staff(request, pk)
    if not intake.can_review(_staff_member(request)):
        raise PermissionDenied("Only a provider or a manager can sign off a provider review.")
    try:
        intake.appointment_review_done(appointment=form.appointment, user=request.user)
    except intake.IntakeReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Provider review marked done.")
    return _back(request, reverse("console-intake", args=[form.pk]))


@require_POST
@staff_view
def intake_resend(request, pk: int):
    form = _intake_for_staff(request, pk)
    if intake_link_renew(form=form) is None:
        messages.error(request, "No new link sent: the form is done or the visit is not upcoming.")
    else:
        messages.success(request, "A new link is on its way; earlier links no longer work.")
    return _back(request, reverse("console-intake", args=[form.pk]))
