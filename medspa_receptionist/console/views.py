"""The front desk's console. Every page and action is scoped to the signed-in staff member's practice;
every action is a real form POST that htmx enhances, so it all works without JavaScript too."""

from datetime import date, datetime, time, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from booking import services as booking
from booking.models import Appointment, FollowUpTask, SeriesEnrollment
from booking.selectors import open_slots
from calls import services as calls
from calls.models import BY_ACTIVITY, Conversation, MessageMedia, Outreach
from calls.outreach.intake import intake_invite
from calls.outreach.reminders import reminders_schedule
from calls.outreach.series import series_prompt
from calls.patient_links import link_requests_pending
from escalations import services as escalations
from escalations.models import Escalation
from practices.audit import audited
from practices.models import ConsentEvent, Location, Patient, Provider, Service
from practices.phones import InvalidPhoneNumber, mask_phone
from practices.selectors import location_coverage
from practices.services import patient_get_or_create
from practices.tenancy import practice_for_user

from . import selectors


def staff_view(view):
    """Signed in, with a practice: the practice is request.practice for everything below."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        practice = practice_for_user(request.user)
        if practice is None:
            raise PermissionDenied("This account does not belong to a practice.")
        request.practice = practice
        return view(request, *args, **kwargs)

    return wrapper


def _for_staff(request, model, pk):
    """Any row from a URL, only if it is this practice's: another practice's id is a 404."""
    return get_object_or_404(model, practice=request.practice, pk=pk)


def _back(request, fallback: str):
    target = request.POST.get("next") or fallback
    if not target.startswith("/") or target.startswith("//"):
        target = fallback
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


def _page(request, template: str, context: dict, partial: str | None = None):
    context = {"practice": request.practice, "counts": selectors.queue_counts(request.practice), **context}
    if partial and request.htmx and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


@require_GET
@staff_view
def counts(request):
    return render(request, "console/_counts.html", {"counts": selectors.queue_counts(request.practice)})


@require_GET
@staff_view
@audited("front desk home")
def home(request):
    return _page(
        request,
        "console/home.html",
        {
            "escalations": selectors.escalation_queue(request.practice)[:10],
            "callbacks": selectors.callback_queue(request.practice)[:10],
            "coverage": location_coverage(practice=request.practice, at=timezone.now()),
        },
    )


# Escalations


@require_GET
@staff_view
@audited("escalation list")
def escalation_list(request):
    return _page(
        request,
        "console/escalations.html",
        {"escalations": selectors.escalation_queue(request.practice)[: selectors.PAGE]},
        partial="console/_escalation_list.html",
    )


def _changed(response):
    """Tell the page the queues changed, so the counts refresh now rather than at the next poll."""
    return trigger_client_event(response, "queues-changed")


def _escalation_response(request, escalation):
    if request.htmx:
        escalation = (
            Escalation.objects.select_related("patient", "claimed_by").prefetch_related("media").get(pk=escalation.pk)
        )
        return _changed(render(request, "console/_escalation.html", {"escalation": escalation}))
    return redirect("console-escalations")


@require_POST
@staff_view
def escalation_claim(request, pk: int):
    escalation = _for_staff(request, Escalation, pk)
    try:
        escalation = escalations.escalation_claim(escalation=escalation, user=request.user)
    except escalations.EscalationError as exc:
        messages.error(request, str(exc))
    return _escalation_response(request, escalation)


@require_POST
@staff_view
def escalation_note(request, pk: int):
    escalation = _for_staff(request, Escalation, pk)
    note = request.POST.get("note", "").strip()
    if note:
        escalations.escalation_add_note(escalation=escalation, user=request.user, note=note)
    return _escalation_response(request, escalation)


@require_POST
@staff_view
def escalation_resolve(request, pk: int):
    escalation = _for_staff(request, Escalation, pk)
    try:
        escalation = escalations.escalation_resolve(
            escalation=escalation, user=request.user, note=request.POST.get("note", "")
        )
    except escalations.EscalationError as exc:
        messages.error(request, str(exc))
    return _escalation_response(request, escalation)


# Problems: the dead letters


@require_GET
@staff_view
@audited("problems")
def problem_list(request):
    return _page(request, "console/problems.html", selectors.problems(request.practice))


# Callbacks and series


@require_GET
@staff_view
@audited("callback list")
def callback_list(request):
    return _page(
        request,
        "console/callbacks.html",
        {
            "callbacks": selectors.callback_queue(request.practice)[: selectors.PAGE],
            "shown": selectors.PAGE,
            "cancellations": selectors.recent_cancellations(request.practice),
            "waitlist": selectors.waitlist(request.practice),
        },
    )


@require_POST
@staff_view
def callback_done(request, pk: int):
    task = _for_staff(request, FollowUpTask, pk)
    outcome = request.POST.get("outcome", "").strip() or "Done"
    booking.follow_up_complete(task=task, outcome=outcome)
    if task.enrollment_id:
        SeriesEnrollment.objects.filter(pk=task.enrollment_id).update(
            last_contact_at=timezone.now(), last_contact_outcome=outcome[:200]
        )
    if request.htmx:
        return _changed(render(request, "console/_done.html", {"text": f"Done: {outcome}"}))
    return redirect("console-callbacks")


@require_GET
@staff_view
@audited("series list")
def series_list(request):
    enrollments, total = selectors.series_queue(request.practice)
    return _page(request, "console/series.html", {"enrollments": enrollments, "total": total})


@require_POST
@staff_view
def series_prompt_send(request, pk: int):
    enrollment = _for_staff(request, SeriesEnrollment, pk)
    sent = series_prompt(enrollment=enrollment)
    text = "Rebooking prompt sent." if sent else "Already prompted this week (or staff have the thread)."
    if request.htmx:
        return render(request, "console/_done.html", {"text": text})
    messages.info(request, text)
    return redirect("console-series")


@require_POST
@staff_view
def series_follow_up(request, pk: int):
    enrollment = _for_staff(request, SeriesEnrollment, pk)
    try:
        due_on = date.fromisoformat(request.POST.get("due_on", ""))
    except ValueError:
        due_on = timezone.localdate(timezone=request.practice.zone) + timedelta(days=14)
    booking.follow_up_create(
        patient=enrollment.patient,
        kind=FollowUpTask.Kind.NOT_READY,
        due_on=due_on,
        reason=request.POST.get("reason", "").strip() or "Follow up on the series",
        enrollment=enrollment,
    )
    text = f"Follow-up task due {due_on:%b %-d}."
    if request.htmx:
        return render(request, "console/_done.html", {"text": text})
    messages.info(request, text)
    return redirect("console-series")


# Conversations


@require_GET
@staff_view
@audited("conversation list")
def conversation_list(request):
    return _page(
        request,
        "console/conversations.html",
        {"conversations": selectors.conversation_list(request.practice)},
        partial="console/_conversation_rows.html",
    )


@require_GET
@staff_view
@audited("conversation")
def conversation_detail(request, pk: int):
    conversation = get_object_or_404(
        Conversation.objects.select_related("patient", "taken_over_by", "location"), practice=request.practice, pk=pk
    )
    thread = conversation.messages.select_related("sent_by").prefetch_related("media").order_by("created_at", "id")
    context = {"conversation": conversation, "thread": thread}
    if request.htmx and request.htmx.target == "thread":
        return render(request, "console/_thread.html", context)
    context["link_requests"] = link_requests_pending(conversation=conversation)
    return _page(request, "console/conversation.html", context)


@require_POST
@staff_view
def conversation_take_over(request, pk: int):
    conversation = _for_staff(request, Conversation, pk)
    calls.conversation_take_over(conversation=conversation, user=request.user)
    return _back(request, reverse("console-conversation", args=[pk]))


@require_POST
@staff_view
def conversation_hand_back(request, pk: int):
    conversation = _for_staff(request, Conversation, pk)
    calls.conversation_hand_back(conversation=conversation)
    return _back(request, reverse("console-conversation", args=[pk]))


@require_POST
@staff_view
def conversation_reply(request, pk: int):
    conversation = _for_staff(request, Conversation, pk)
    try:
        outreach = calls.staff_reply(conversation=conversation, user=request.user, body=request.POST.get("body", ""))
    except calls.EmptyReply as exc:
        messages.error(request, str(exc))
    else:
        if outreach.state == Outreach.State.PENDING and outreach.due_at > timezone.now():
            messages.info(request, "It's quiet hours for this patient: the reply goes out at 8 am their time.")
    return _back(request, reverse("console-conversation", args=[pk]))


@require_GET
@staff_view
@audited("patient photo")
def media_file(request, pk: int):
    """A picture a patient texted, from private storage: never Twilio's address, never cached."""
    media = _for_staff(request, MessageMedia, pk)
    if media.status != MessageMedia.Status.STORED or not media.file:
        raise Http404("No such picture.")
    try:
        handle = media.file.open("rb")
    except FileNotFoundError:
        raise Http404("No such picture.") from None
    response = FileResponse(handle, content_type=media.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# Schedule


def _day_and_location(request):
    practice = request.practice
    locations = list(Location.objects.filter(practice=practice, is_active=True).order_by("name"))
    location = next((loc for loc in locations if str(loc.pk) == request.GET.get("location")), None)
    location = location or (locations[0] if locations else None)
    if location is None:
        raise PermissionDenied("This practice has no location yet.")
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate(timezone=location.zone)
    return locations, location, day


@require_GET
@staff_view
@audited("schedule")
def schedule(request):
    locations, location, day = _day_and_location(request)
    return _page(
        request,
        "console/schedule.html",
        {
            "locations": locations,
            "location": location,
            "day": day,
            "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
            "columns": selectors.schedule_for(request.practice, day=day, location=location),
            "services": Service.objects.filter(practice=request.practice, is_active=True, providers__locations=location)
            .distinct()
            .order_by("name"),
        },
    )


_VISIT_ACTIONS = {
    "check_in": booking.appointment_check_in,
    "complete": booking.appointment_complete,
    "no_show": booking.appointment_no_show,
    "confirm": booking.appointment_confirm,
}


@require_POST
@staff_view
def appointment_action(request, pk: int, action: str):
    appointment = _for_staff(request, Appointment, pk)
    try:
        if action == "cancel":
            booking.appointment_cancel(appointment=appointment, reason=request.POST.get("reason", "Cancelled by staff"))
        elif action in _VISIT_ACTIONS:
            _VISIT_ACTIONS[action](appointment=appointment)
        else:
            raise PermissionDenied("Unknown action.")
    except booking.BookingError as exc:
        messages.error(request, str(exc))
    else:
        if action == "complete":  # checkout: book the next visit before the client leaves
            return _back(request, reverse("console-checkout", args=[pk]))
    local = appointment.local_start
    return _back(request, f"{reverse('console-schedule')}?location={appointment.location_id}&date={local.date()}")


@require_GET
@staff_view
@audited("booking page")
def slot_picker(request):
    """Open times for a service on a day at a location, from the booking engine."""
    locations, location, day = _day_and_location(request)
    service = Service.objects.filter(practice=request.practice, pk=request.GET.get("service") or 0).first()
    slots = []
    if service is not None:
        start = max(datetime.combine(day, time.min, location.zone), timezone.now())
        slots = open_slots(
            service=service,
            location=location,
            start=start,
            end=datetime.combine(day + timedelta(days=1), time.min, location.zone),
            enforce_notice=False,
        )
    providers = {p.pk: p for p in Provider.objects.filter(practice=request.practice)}
    context = {
        "slots": [(slot, providers[slot.provider_id]) for slot in slots],
        "service": service,
        "location": location,
        "day": day,
        "locations": locations,
        "reschedule": request.GET.get("reschedule", ""),
    }
    if request.htmx:
        return render(request, "console/_slots.html", context)
    return _page(
        request,
        "console/book.html",
        {
            **context,
            "services": Service.objects.filter(practice=request.practice, is_active=True).order_by("name"),
        },
    )


@require_POST
@staff_view
def book(request):
    practice = request.practice
    service = _for_staff(request, Service, request.POST.get("service") or 0)
    location = _for_staff(request, Location, request.POST.get("location") or 0)
    # The picked slot carries its start and provider ("2026-12-03T10:00:00-05:00|7").
    start_text, _, provider_id = request.POST.get("slot", "").partition("|")
    provider = _for_staff(request, Provider, provider_id if provider_id.isdigit() else 0)
    try:
        starts_at = datetime.fromisoformat(start_text)
        if timezone.is_naive(starts_at):
            raise ValueError
    except ValueError:
        messages.error(request, "Pick a time from the list.")
        return redirect(f"{reverse('console-book')}?location={location.pk}&service={service.pk}")
    reschedule = request.POST.get("reschedule")
    try:
        if reschedule:
            appointment = booking.appointment_reschedule(
                appointment=_for_staff(request, Appointment, reschedule),
                starts_at=starts_at,
                provider=provider,
                enforce_notice=False,
            )
        else:
            patient, _ = patient_get_or_create(
                practice=practice,
                phone=request.POST.get("phone", ""),
                first_name=request.POST.get("first_name", "").strip()[:80],
                last_name=request.POST.get("last_name", "").strip()[:80],
            )
            appointment = booking.appointment_book(
                practice=practice,
                patient=patient,
                service=service,
                location=location,
                provider=provider,
                starts_at=starts_at,
                source=Appointment.Source.STAFF,
                booked_by=request.user,
                enforce_notice=False,
            )
    except InvalidPhoneNumber as exc:
        messages.error(request, f"Phone: {exc}")
        return redirect(
            f"{reverse('console-book')}?location={location.pk}&service={service.pk}&date={starts_at.date()}"
        )
    except booking.BookingError as exc:
        messages.error(request, str(exc))
        return redirect(
            f"{reverse('console-book')}?location={location.pk}&service={service.pk}&date={starts_at.date()}"
        )
    reminders_schedule(appointment=appointment)  # 48 h and 2 h before; a moved visit's replace the old ones
    intake_invite(appointment=appointment)  # a new patient's form link (it follows a rescheduled visit)
    messages.success(request, f"Booked: {appointment}.")
    return _back(request, f"{reverse('console-schedule')}?location={location.pk}&date={appointment.local_start.date()}")


# Patients


@require_GET
@staff_view
@audited("patient")
def patient_detail(request, pk: int):
    patient = _for_staff(request, Patient, pk)
    return _page(
        request,
        "console/patient.html",
        {
            "patient": patient,
            "masked_phone": mask_phone(patient.phone),
            "consent_events": ConsentEvent.objects.filter(practice=request.practice, phone=patient.phone),
            "conversations": patient.conversations.order_by(*BY_ACTIVITY),
            "appointments": patient.appointments.select_related("service", "provider", "location", "intake").order_by(
                "-starts_at"
            ),
            "enrollments": patient.series_enrollments.select_related("template"),
            "escalations": Escalation.objects.filter(practice=request.practice, patient=patient).order_by(
                "-created_at"
            ),
            "memberships": patient.memberships.all(),
        },
    )


@require_GET
@staff_view
@audited("patient phone")
def patient_phone(request, pk: int):
    """Reveal a patient's full number (the page shows it masked)."""
    patient = _for_staff(request, Patient, pk)
    return render(request, "console/_phone.html", {"patient": patient})
