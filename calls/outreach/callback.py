"""The automated voice callback (Practice.voice_callbacks): a missed caller who said nothing to the
receptionist and did not answer the text-back is called once, by the receptionist, which says it is an
automated assistant calling back for the practice and then listens like on any call.

When: an hour after the text-back went out (between the 30-minute and the 2-hour follow-ups), only while
the location is open (so that "let me talk to someone" reaches a staffed desk) and outside the practice's
quiet hours in the patient's own time; otherwise at the next moment both hold, and not at all once a day
has passed since the missed call (the 24-hour text carries on from there).

Never: after an opt-out or for a blocked number, when the caller spoke on the call or wrote back, booked,
called again and reached staff, or when staff took the thread over or have a callback of their own for
them. Once: one Outreach row of kind CALLBACK per missed call (the (call, kind, step) constraint), claimed
by one worker, tried once (a call that failed half-way may have rung), and one callback Call per missed call.
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from booking.models import Appointment, FollowUpTask
from practices.models import Closure, ContactConsent, Location
from practices.selectors import phone_is_blocked

from ..messaging.quiet_hours import next_allowed, patient_zone
from ..models import Call, Channel, Conversation, Message, Outreach

CALLBACK_DELAY = timedelta(hours=1)
CALLBACK_EXPIRES = timedelta(hours=24)
CALLBACK_STEP = 0
# Twilio's AnsweredBy for a voicemail or fax, with machine detection on.
MACHINE_ANSWERS = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")


def callback_for(*, call: Call, location, patient) -> Outreach | None:
    """The callback row for a missed call's cadence, when the practice has callbacks turned on."""
    if not call.practice.voice_callbacks:
        return None
    return Outreach(
        practice_id=call.practice_id,
        kind=Outreach.Kind.CALLBACK,
        step=CALLBACK_STEP,
        call=call,
        phone=call.from_phone,
        patient=patient,
        location=location,
        channel=Channel.VOICE,
        due_at=call.missed_at + CALLBACK_DELAY,
    )


def callback_stop_reason(outreach: Outreach) -> str:
    """Why the callback must not be placed (any more), or an empty string."""
    practice = outreach.practice
    call = outreach.call
    if not practice.voice_callbacks:
        return "voice callbacks are off"
    if call is None or not call.missed or not call.from_phone:
        return "no missed call to answer"
    if not call.phone_number.is_active:
        return "the number they called is no longer in use"
    text_back = Outreach.objects.filter(call=call, kind=Outreach.Kind.TEXT_BACK, step=0).first()
    if text_back is None or text_back.state in (
        Outreach.State.SKIPPED,
        Outreach.State.FAILED,
        Outreach.State.CANCELLED,
    ):
        return "no text-back went out"
    phone = call.from_phone
    since = call.started_at
    heard = Message.objects.filter(
        practice_id=practice.pk, direction=Message.Direction.INBOUND, conversation__phone=phone, created_at__gte=since
    ).values_list("channel", flat=True)
    if Channel.VOICE in heard:
        return "caller spoke on the call"
    if heard:
        return "patient replied"
    if (
        Appointment.objects.filter(practice_id=practice.pk, patient__phone=phone)
        .filter(
            Q(created_at__gte=since)
            | Q(status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED], starts_at__gte=timezone.now())
        )
        .exists()
    ):
        return "patient booked"
    if ContactConsent.objects.filter(
        practice_id=practice.pk, phone=phone, status=ContactConsent.Status.OPTED_OUT
    ).exists():
        return "patient opted out"
    if phone_is_blocked(practice=practice, phone=phone):
        return "blocked number"
    if Conversation.objects.filter(practice_id=practice.pk, phone=phone, taken_over_by__isnull=False).exists():
        return "staff took over"
    # Staff have a callback for them (open: they will call; done since the missed call: they did).
    if (
        FollowUpTask.objects.filter(practice_id=practice.pk, patient__phone=phone, kind=FollowUpTask.Kind.CALLBACK)
        .filter(Q(status=FollowUpTask.Status.OPEN) | Q(done_at__gte=since))
        .exists()
    ):
        return "staff are calling back"
    if Call.objects.filter(
        practice_id=practice.pk, from_phone=phone, started_at__gt=since, answered_by=Call.AnsweredBy.STAFF
    ).exists():
        return "caller reached staff since"
    if Call.objects.filter(callback_of=call, direction=Call.Direction.CALLBACK).exists():
        return "already called back"
    return ""


def callback_when(outreach: Outreach, *, now: datetime) -> datetime | None:
    """The first moment the callback may be placed (`now` or later), or None when there is none before
    it expires: an hour after the text-back went out, the location open, not quiet hours for the patient."""
    call = outreach.call
    text_back = (
        Outreach.objects.filter(call=call, kind=Outreach.Kind.TEXT_BACK, step=0).select_related("message").first()
    )
    if text_back.state == Outreach.State.SENT and text_back.message and text_back.message.sent_at:
        earliest = text_back.message.sent_at + CALLBACK_DELAY
    else:  # still waiting itself (quiet hours): the callback waits with it
        earliest = text_back.due_at + CALLBACK_DELAY
    location = outreach.location or call.location
    practice = outreach.practice
    zone = patient_zone(phone=outreach.phone, location_zone=location.zone)
    moment = max(now, earliest)
    expires = (call.missed_at or call.started_at) + CALLBACK_EXPIRES
    while moment <= expires:
        allowed = next_allowed(
            moment, zone=zone, quiet_start=practice.quiet_hours_start, quiet_end=practice.quiet_hours_end
        )
        opens = next_open(location=location, at=allowed)
        if opens is None:
            return None
        if opens == allowed:
            return allowed if allowed <= expires else None
        moment = opens
    return None


def next_open(*, location: Location, at: datetime) -> datetime | None:
    """`at` if the location is open then, else when it next opens within a week (closures counted)."""
    zone = location.zone
    first_day = at.astimezone(zone).date()
    hours = list(location.hours.order_by("opens_at"))
    closures = list(
        Closure.objects.filter(
            practice_id=location.practice_id, starts_on__lte=first_day + timedelta(days=7), ends_on__gte=first_day
        ).filter(Q(location=location) | Q(location__isnull=True))
    )
    for offset in range(8):
        day = first_day + timedelta(days=offset)
        closed = [closure for closure in closures if closure.starts_on <= day <= closure.ends_on]
        if any(closure.from_time is None for closure in closed):
            continue
        for interval in (interval for interval in hours if interval.weekday == day.weekday()):
            candidate = max(at, datetime.combine(day, interval.opens_at, zone))
            closes = datetime.combine(day, interval.closes_at, zone)
            moved = True
            while moved:  # past any closed window of the day (closes early, opens late)
                moved = False
                for closure in closed:
                    start = datetime.combine(day, closure.from_time, zone)
                    end = datetime.combine(day, closure.to_time, zone)
                    if start <= candidate < end:
                        candidate, moved = end, True
            if candidate < closes:
                return candidate
    return None


def callback_call_start(*, outreach: Outreach) -> Call | None:
    """The Call row of the callback, made before Twilio dials so that our voice flow finds it (its
    CallSid is filled in from Twilio's answer). None when one exists already: never a second call."""
    missed = outreach.call
    call, created = Call.objects.get_or_create(
        call_sid=f"callback-{outreach.pk}",
        defaults={
            "practice_id": outreach.practice_id,
            "location": missed.location,
            "phone_number": missed.phone_number,
            "from_raw": outreach.phone,
            "from_phone": outreach.phone,
            "patient": outreach.patient or missed.patient,
            "status": "queued",
            "direction": Call.Direction.CALLBACK,
            "callback_of": missed,
        },
    )
    return call if created else None


def callback_answered(*, call_pk: str, call_sid: str, answered_by: str) -> Call | None:
    """Twilio asks what to say on a callback it placed: the callback's Call row, with Twilio's CallSid
    (if our own update has not landed yet) and who answered. None for anything that is not ours."""
    if not call_pk.isdigit():
        return None
    call = (
        Call.objects.select_related("practice", "phone_number", "location")
        .filter(pk=call_pk, direction=Call.Direction.CALLBACK)
        .first()
    )
    if call is None or (call.call_sid != call_sid and not call.call_sid.startswith("callback-")):
        return None
    fields = {"call_sid": call_sid, "status": "in-progress"}
    if answered_by not in MACHINE_ANSWERS:
        fields["answered_by"] = Call.AnsweredBy.RECEPTIONIST
    Call.objects.filter(pk=call.pk).update(**fields)
    for name, value in fields.items():
        setattr(call, name, value)
    return call
