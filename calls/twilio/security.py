"""Every Twilio webhook is signed; we check the signature against the address Twilio called."""

import logging
from functools import wraps

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)


class BadPayload(Exception):
    """A signed request that lacks what the endpoint needs; answered with 400 and the reason."""


def public_url(request) -> str:
    # Never the Host header: behind a proxy it is not what Twilio signed, and it can be forged.
    return f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"


def signature_is_valid(request) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(public_url(request), request.POST, signature)


def twilio_webhook(view):
    """POST only, no CSRF token (Twilio has none), a valid X-Twilio-Signature or 403, and a
    missing or malformed field as a 400 that says which."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not signature_is_valid(request):
            return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
        try:
            return view(request, *args, **kwargs)
        except BadPayload as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        except (OperationalError, InterfaceError):
            logger.exception("database unavailable during a Twilio webhook")
            return _database_unavailable(request)

    return wrapper


def _database_unavailable(request) -> HttpResponse:
    """A caller hears that the practice will call back (Twilio keeps the call in its logs and our
    status callbacks arrive later); anything else gets a 503 so that Twilio delivers it again, and the
    redelivery is stored once by its SID."""
    from . import twiml

    if request.path.startswith("/webhooks/twilio/voice/"):
        return HttpResponse(twiml.unavailable_voice(), content_type="text/xml")
    response = HttpResponse("Temporarily unavailable; please retry.", status=503, content_type="text/plain")
    response["Retry-After"] = "30"
    return response


def required(request, *names: str) -> list[str]:
    values = []
    for name in names:
        value = request.POST.get(name, "")
        if not value.strip():
            raise BadPayload(f"{name} is required.")
        values.append(value.strip())
    return values


def whole_number(request, name: str, default: int | None = None) -> int | None:
    raw = request.POST.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadPayload(f"{name} must be a whole number.") from None
    if value < 0:
        raise BadPayload(f"{name} must not be negative.")
    return value
