"""Checkout in the console: completing a visit leads here, to book the next one before the client leaves
(booking/checkout.py says when it is due). Forms POST without JavaScript; htmx swaps the panel in place."""

from datetime import date, datetime

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from booking import services as booking
from booking.checkout import checkout_not_ready, next_visit_choices, next_visit_window
from booking.models import Appointment
from calls.outreach.reminders import reminders_schedule
from practices.audit import audited
from practices.models import Provider

from .views import _page, staff_view

PARTIAL = "console/_checkout.html"


def _completed_visit(request, pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("patient", "service", "provider", "location"),
        practice=request.practice,
        pk=pk,
        status=Appointment.Status.COMPLETED,
    )


def _schedule_url(appointment: Appointment) -> str:
    return f"{reverse('console-schedule')}?location={appointment.location_id}&date={appointment.local_start.date()}"


def _day_in(window, text: str) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if window.starts_on <= day <= window.ends_on else None


def _panel(request, appointment: Appointment, *, day: date | None = None, error: str = ""):
    window = next_visit_window(appointment=appointment)
    today = timezone.localdate(timezone=appointment.location.zone)
    context = {
        "appointment": appointment,
        "window": window,
        "day": day,
        "slots": next_visit_choices(appointment=appointment, window=window, day=day) if window else [],
        "follow_up_on": window.follow_up_on(today) if window else None,
        "error": error,
        "schedule_url": _schedule_url(appointment),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, PARTIAL, context)
    return _page(request, "console/checkout.html", context)


@require_GET
@staff_view
@audited("checkout")
def checkout(request, pk: int):
    appointment = _completed_visit(request, pk)
    window = next_visit_window(appointment=appointment)
    day = _day_in(window, request.GET.get("date", "")) if window else None
    return _panel(request, appointment, day=day)


@require_POST
@staff_view
def checkout_book(request, pk: int):
    appointment = _completed_visit(request, pk)
    window = next_visit_window(appointment=appointment)
    if window is None:
        messages.error(request, "There is no next visit to book here: use the booking page.")
        return redirect("console-checkout", pk=pk)
    # The picked time carries its start and provider ("2027-01-06T10:00:00-05:00|7").
    start_text, _, provider_id = request.POST.get("slot", "").partition("|")
    provider = Provider.objects.filter(
        practice=request.practice, pk=provider_id if provider_id.isdigit() else 0
    ).first()
    try:
        starts_at = datetime.fromisoformat(start_text)
        if timezone.is_naive(starts_at) or provider is None:
            raise ValueError
    except ValueError:
        return _refused(request, appointment, "Pick a time from the list.")
    local_day = starts_at.astimezone(appointment.location.zone).date()
    if not window.starts_on <= local_day <= window.ends_on:
        return _refused(request, appointment, "That time is outside the next visit's window. Pick one from the list.")
    try:
        booked = booking.appointment_book(
            practice=request.practice,
            patient=appointment.patient,
            service=window.service,
            location=appointment.location,
            provider=provider,
            starts_at=starts_at,
            source=Appointment.Source.STAFF,
            booked_by=request.user,
            enrollment=window.enrollment,
            enforce_notice=False,
        )
    except booking.BookingError as exc:
        return _refused(request, appointment, f"{exc} Here are the times open now.")
    reminders_schedule(appointment=booked)  # so the next visit is not forgotten between now and then
    text = (
        f"Next visit booked: {booked.service.name} with {booked.provider}, {booked.local_start:%a %b %-d at %-I:%M %p}."
    )
    if request.htmx:
        return render(
            request, "console/_checkout_done.html", {"text": text, "schedule_url": _schedule_url(appointment)}
        )
    messages.success(request, text)
    return redirect(_schedule_url(appointment))


def _refused(request, appointment: Appointment, error: str):
    """Booking did not happen: say why, with fresh times (htmx swaps the panel; without it, back to the page)."""
    if request.htmx:
        return _panel(request, appointment, error=error)
    messages.error(request, error)
    return redirect("console-checkout", pk=appointment.pk)


@require_POST
@staff_view
def checkout_not_ready_view(request, pk: int):
    appointment = _completed_visit(request, pk)
    window = next_visit_window(appointment=appointment)
    if window is None:
        messages.error(request, "There is no next visit to follow up on.")
        return redirect("console-checkout", pk=pk)
    task = checkout_not_ready(
        appointment=appointment,
        window=window,
        reason=request.POST.get("reason", ""),
        today=timezone.localdate(timezone=appointment.location.zone),
    )
    text = f"Not ready: a follow-up task is due {task.due_on:%a %b %-d}."
    if request.htmx:
        return render(
            request, "console/_checkout_done.html", {"text": text, "schedule_url": _schedule_url(appointment)}
        )
    messages.success(request, text)
    return redirect(_schedule_url(appointment))
