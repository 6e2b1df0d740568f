"""The patient's intake form at /intake/<token>/: public (no sign-in), opened only by its signed link.

What protects it:
- the token (booking/intake.py): signed, expiring, one form, revoked by a new nonce;
- a client that sends too many links that open nothing is refused with 429 for a while, whatever it
  sends next, so guessing gets nowhere and a throttled client learns nothing from its next tries;
- a submitted form is stored once; a replayed POST gets 409 and changes nothing;
- CSRF as everywhere; no caching, no referrer to other sites (the token is in the address), nothing indexed;
- pages for a bad link say nothing about the patient or the practice, and logs carry form ids only.
"""

import ipaddress
import logging

from django.core.cache import cache
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import intake
from .intake_forms import IntakeAnswersForm

logger = logging.getLogger(__name__)

# At most this many links that open nothing, per client address, in the window.
BAD_LINKS_ALLOWED = 20
BAD_LINK_WINDOW_SECONDS = 15 * 60


def client_ip(request) -> str:
    """The client's address: behind our proxy, the last X-Forwarded-For hop (the one the proxy added,
    which the client cannot choose); otherwise the socket's address."""
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for candidate in (forwarded[-1] if forwarded else "", request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return "unknown"


def _throttle_key(request) -> str:
    return f"intake:bad-links:{client_ip(request)}"


def _throttled(request) -> bool:
    return (cache.get(_throttle_key(request)) or 0) >= BAD_LINKS_ALLOWED


def _count_bad_link(request) -> None:
    key = _throttle_key(request)
    if cache.add(key, 1, BAD_LINK_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, BAD_LINK_WINDOW_SECONDS)


def _private(response):
    """The token is in the address: never cached, never sent to another site as a referrer (same-origin,
    not no-referrer: with no referrer Chromium posts the form with Origin "null", which CSRF refuses), never
    indexed."""
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Django would log this refusal with the request's path, token and all: the line below is the log.
    if response.status_code >= 400:
        response._has_been_logged = True
    return response


def _unavailable(request, *, status: int, reason: str):
    logger.info("intake link refused with %s: %s", status, reason)
    response = render(request, "intake/unavailable.html", {"status": status}, status=status)
    if status == 429:
        response["Retry-After"] = str(BAD_LINK_WINDOW_SECONDS)
    return _private(response)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def intake_form(request, token: str):
    if _throttled(request):
        return _unavailable(request, status=429, reason="too many bad links from one client")
    try:
        form_row = intake.intake_from_token(token)
    except intake.IntakeLinkError as exc:
        _count_bad_link(request)
        return _unavailable(request, status=exc.status, reason=str(exc))

    appointment = form_row.appointment
    context = {
        "practice": form_row.practice,
        "appointment": appointment,
        "local_start": appointment.local_start,
        "first_name": form_row.patient.first_name,
    }
    if form_row.status == form_row.Status.SUBMITTED:
        status = 409 if request.method == "POST" else 200
        if status == 409:
            logger.info("intake form %s: a second submission was refused", form_row.pk)
        return _private(render(request, "intake/done.html", context, status=status))

    acknowledgements = intake.intake_acknowledgements(practice=form_row.practice)
    if request.method == "POST":
        form = IntakeAnswersForm(request.POST, acknowledgements=acknowledgements)
        if form.is_valid():
            try:
                submitted = intake.intake_submit(form=form_row, answers=form.answers())
            except intake.IntakeAlreadySubmitted:
                logger.info("intake form %s: a second submission was refused", form_row.pk)
                return _private(render(request, "intake/done.html", context, status=409))
            logger.info("intake form %s submitted with %s flag(s)", submitted.pk, len(submitted.flags))
            return _private(redirect(request.path))
    else:
        if request.method == "GET":
            intake.intake_open(form=form_row)
        patient = form_row.patient
        form = IntakeAnswersForm(
            acknowledgements=acknowledgements,
            initial={"first_name": patient.first_name, "last_name": patient.last_name},
        )
    return _private(render(request, "intake/form.html", {**context, "form": form}))
