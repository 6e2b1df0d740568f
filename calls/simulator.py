"""The patient simulator: a demo phone that calls and texts the practice through the real webhooks.

Each action builds the request Twilio would send, signs it with Twilio's own RequestValidator and
passes it through the whole Django stack (middleware, signature check, view), so what the demo shows
is what production does. On in demo mode only; a 404 otherwise.
"""

import uuid
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.test import Client
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from twilio.request_validator import RequestValidator

from practices.models import PhoneNumber
from practices.phones import InvalidPhoneNumber, normalize_phone
from practices.tenancy import require_practice

from .models import Call, Message

DEFAULT_CALLER = "+13475550123"


def demo_only(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.DEMO_MODE:
            raise Http404("The simulator is off.")
        return view(request, *args, **kwargs)

    return wrapper


def _post_signed(path: str, params: dict) -> str:
    url = f"{settings.PUBLIC_BASE_URL}{path}"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    client = Client(HTTP_HOST=parts.hostname or "localhost", HTTP_X_FORWARDED_PROTO=parts.scheme)
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature, secure=parts.scheme == "https")
    return response.content.decode()


def _context(request):
    practice = require_practice(request.user)
    numbers = list(PhoneNumber.objects.filter(practice=practice, is_active=True).select_related("location"))
    if not numbers:
        raise Http404("This practice has no phone number yet.")
    chosen = request.GET.get("number") or request.POST.get("number") or numbers[0].number
    number = next((n for n in numbers if n.number == chosen), numbers[0])
    try:
        caller = normalize_phone(request.GET.get("phone") or request.POST.get("phone") or DEFAULT_CALLER)
    except InvalidPhoneNumber:
        caller = DEFAULT_CALLER
    return practice, numbers, number, caller


def _thread(practice, caller):
    messages = (
        Message.objects.filter(practice=practice, conversation__phone=caller)
        .select_related("conversation")
        .order_by("created_at", "id")
    )
    calls = Call.objects.filter(practice=practice, from_phone=caller).order_by("started_at")
    items = [{"at": m.created_at, "message": m} for m in messages] + [{"at": c.started_at, "call": c} for c in calls]
    return sorted(items, key=lambda item: item["at"])


@require_GET
@login_required
@demo_only
def simulator(request):
    practice, numbers, number, caller = _context(request)
    context = {
        "practice": practice,
        "numbers": numbers,
        "number": number,
        "caller": caller,
        "items": _thread(practice, caller),
        "heard": request.session.pop("simulator_heard", ""),
    }
    template = "calls/_simulator_thread.html" if request.htmx else "calls/simulator.html"
    return render(request, template, context)


def _back(number, caller):
    return redirect(f"{reverse('simulator')}?number={number.number}&phone={caller}")


@require_POST
@login_required
@demo_only
def simulator_call(request):
    """Call the spa; nobody at the desk answers (or it is after hours), and the receptionist picks up."""
    _, _, number, caller = _context(request)
    call_sid = f"CA{uuid.uuid4().hex}"
    base = {
        "AccountSid": settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "From": caller,
        "To": number.number,
        "Caller": caller,
        "Called": number.number,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }
    heard = _post_signed(reverse("twilio-voice"), base)
    if "<Dial" in heard:
        heard = _post_signed(
            reverse("twilio-voice-dial-status"),
            base
            | {
                "CallStatus": "in-progress",
                "DialCallStatus": "no-answer",
                "DialCallSid": f"CA{uuid.uuid4().hex}",
                "DialCallDuration": "0",
            },
        )
    speech = request.POST.get("speech", "").strip()
    if speech:
        heard += _post_signed(
            reverse("twilio-voice-gather"),
            base
            | {
                "CallStatus": "in-progress",
                "SpeechResult": speech,
                "Confidence": "0.92",
            },
        )
    _post_signed(reverse("twilio-voice-status"), base | {"CallStatus": "completed", "CallDuration": "35"})
    request.session["simulator_heard"] = heard
    return _back(number, caller)


@require_POST
@login_required
@demo_only
def simulator_text(request):
    _, _, number, caller = _context(request)
    message_sid = f"SM{uuid.uuid4().hex}"
    _post_signed(
        reverse("twilio-sms"),
        {
            "AccountSid": settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
            "ApiVersion": "2010-04-01",
            "MessageSid": message_sid,
            "SmsSid": message_sid,
            "SmsMessageSid": message_sid,
            "From": caller,
            "To": number.number,
            "Body": request.POST.get("body", "")[:1600],
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
        },
    )
    return _back(number, caller)
