"""Known callers in the console: staff confirm (or refuse) linking a new number to the patient whose name
and date of birth the texter gave, and choose a patient's channel for reminders. Plain form POSTs,
scoped to the staff member's practice; each decision on a link writes an audit row."""

from django.contrib import messages
from django.urls import reverse
from django.views.decorators.http import require_POST

from calls import patient_links
from calls.models import PatientLinkRequest
from practices.audit import audit_read
from practices.models import Patient
from practices.services import patient_channel_set

from .views import _back, _for_staff, staff_view


def _to_conversation(request, link_request: PatientLinkRequest):
    return _back(request, reverse("console-conversation", args=[link_request.conversation_id]))


@require_POST
@staff_view
def link_confirm(request, pk: int):
    link_request = _for_staff(request, PatientLinkRequest, pk)
    audit_read(request, "patient link confirmed", pk)
    try:
        outcome = patient_links.link_request_confirm(link_request=link_request, user=request.user)
    except patient_links.LinkConflict as exc:
        messages.error(request, str(exc))
        return _to_conversation(request, link_request)
    done = f"Linked: this number is now {outcome.link_request.patient}'s."
    if outcome.kept_because:
        done += (
            " The record made from this number was kept, because it has "
            f"{', '.join(outcome.kept_because)} of its own: merge them by hand if they are the same person."
        )
    elif outcome.merged:
        done += " The record made from this number was merged into theirs."
    messages.success(request, done)
    return _to_conversation(request, link_request)


@require_POST
@staff_view
def link_reject(request, pk: int):
    link_request = _for_staff(request, PatientLinkRequest, pk)
    audit_read(request, "patient link refused", pk)
    try:
        patient_links.link_request_reject(link_request=link_request, user=request.user)
    except patient_links.LinkConflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Not linked: the number stays a separate record.")
    return _to_conversation(request, link_request)


@require_POST
@staff_view
def patient_channel(request, pk: int):
    """Staff choose how reminders and follow-ups reach a patient; learning never changes it afterwards."""
    patient = _for_staff(request, Patient, pk)
    try:
        patient_channel_set(patient=patient, channel=request.POST.get("channel", ""), set_by=Patient.ChannelSetBy.STAFF)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Reminders now go by {patient.get_preferred_channel_display().lower()}.")
    return _back(request, reverse("console-patient", args=[pk]))
