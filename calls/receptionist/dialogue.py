"""The dialogue policy: what the receptionist says and does next.

States: greeting -> qualifying -> offering -> booked (or handed off, closed). Qualification follows
GLOW (Goals, Limitations, Openness, Window), at most four questions and only those the patient has not
already answered, each answer scored 1 to 5. Then three real open times from the booking engine, the
one chosen is booked, confirmed with prep instructions, the location and how to reschedule, and the
48 h and 2 h reminders are scheduled. Prices come only from the published range, policies only from
approved answers; anything else becomes a question for staff. Nothing here invents a price, a policy,
a clinical answer or a time.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from rapidfuzz import fuzz

from booking import services as booking
from booking.availability import Preferences
from booking.models import Appointment, FollowUpTask, SeriesEnrollment
from booking.selectors import first_choices, service_to_offer
from practices.models import ApprovedAnswer, Campaign, Location, Membership, Patient, Provider, Service
from practices.selectors import message_text

from ..models import Conversation, Message, Outreach
from ..outreach.intake import intake_invite
from ..outreach.reminders import reminders_schedule
from ..outreach.series import series_dialogue
from . import history
from .understanding import Understanding

MAX_QUESTIONS = 4
SEARCH_DAYS = 30
# The kind of the message that offers real open times: the lead answered enough to book (qualified).
TIMES_OFFERED = "times_offered"
# The kind of a reply in the practice's approved wording (analytics counts the approved-answer rate).
APPROVED_ANSWER = "approved_answer"


@dataclass
class Reply:
    text: str
    transfer: bool = False  # voice: put the caller through to the front desk
    done: bool = False  # voice: nothing more to ask
    purpose: str = ""  # kept as the sent message's kind: "times_offered" marks a qualified lead


def _when(moment: datetime) -> str:
    return moment.strftime("%a %b %-d at %-I:%M %p")


def _patient(conversation: Conversation) -> Patient:
    if conversation.patient_id is None:
        patient, _ = Patient.objects.get_or_create(practice=conversation.practice, phone=conversation.phone)
        conversation.patient = patient
        Conversation.objects.filter(pk=conversation.pk).update(patient=patient)
    return conversation.patient


def _save(conversation: Conversation, *, state: str | None = None) -> None:
    if state:
        conversation.state = state
    fields = ["context", "state"]
    scores = conversation.context.get("scores") or {}
    if scores:
        conversation.priority = Decimal(sum(scores.values()) / len(scores)).quantize(Decimal("0.1"))
        fields.append("priority")
    conversation.save(update_fields=fields)


def _staff_question(conversation: Conversation, reason: str) -> Reply:
    """Something only staff can answer: a dated callback with the question, and a promise of nothing."""
    booking.callback_request(patient=_patient(conversation), reason=reason)
    brand = conversation.practice.brand_name
    return Reply(f"Good question! I'll have someone from {brand} get back to you with the exact answer shortly.")


def _misunderstood(conversation: Conversation) -> Reply:
    misses = conversation.context.get("misses", 0) + 1
    conversation.context["misses"] = misses
    _save(conversation)
    if misses >= 2:
        conversation.context["misses"] = 0
        _save(conversation, state=Conversation.State.HANDED_OFF)
        _staff_question(conversation, "The assistant couldn't understand: please call back")
        return Reply(
            f"Sorry, I'm not getting it. I've asked a member of the {conversation.practice.brand_name} team to "
            "reach out to you directly."
        )
    return Reply(
        "Sorry, I didn't quite catch that. Are you looking to book a treatment, ask about prices, or something else?"
    )


# Answers from the practice's own records only.


def _price_reply(conversation: Conversation, service: Service | None) -> Reply:
    if service is None or not service.price_range_text:
        what = service.name if service else "that"
        return _staff_question(conversation, f"Pricing question about {what}: not on the published menu")
    consult = " New patients start with a consultation." if service.consultation_required_for_new else ""
    conversation.context.setdefault("glow", {})["service"] = service.slug
    _save(conversation)
    return Reply(
        f"{service.name} at {conversation.practice.brand_name} is {service.price_range_text}; your provider "
        f"confirms the exact amount at your visit.{consult} Want me to find you a time?"
    )


def _approved_answer(conversation: Conversation, text: str) -> ApprovedAnswer | None:
    best, best_score = None, 0
    for answer in ApprovedAnswer.objects.filter(practice_id=conversation.practice_id, is_active=True):
        for phrasing in [answer.title, *answer.phrasings]:
            score = fuzz.token_set_ratio(phrasing.lower(), text.lower())
            if score > best_score:
                best, best_score = answer, score
    return best if best_score >= 75 else None


def _hours_reply(conversation: Conversation) -> Reply:
    location = conversation.location or conversation.practice.locations.filter(is_active=True).first()
    if location is None:
        return Reply(f"Let me have someone from {conversation.practice.brand_name} send you our hours.")
    days = {}
    for hours in location.hours.order_by("weekday", "opens_at"):
        days.setdefault(hours.get_weekday_display()[:3], []).append(
            f"{hours.opens_at.strftime('%-I:%M%p').lower()}-{hours.closes_at.strftime('%-I:%M%p').lower()}"
        )
    listing = "; ".join(f"{day} {', '.join(spans)}" for day, spans in days.items())
    parking = f" {location.parking}" if location.parking else ""
    return Reply(f"{location.name}: {location.address}. Hours: {listing}.{parking}")


def _membership_reply(conversation: Conversation) -> Reply:
    patient = _patient(conversation)
    membership = Membership.objects.filter(patient=patient, status=Membership.Status.ACTIVE).first()
    rules = (
        _approved_answer(conversation, "membership")
        or ApprovedAnswer.objects.filter(
            practice_id=conversation.practice_id, topic="membership-rules", is_active=True
        ).first()
    )
    parts = []
    if membership:
        renews = f", renewing {membership.renews_on:%b %-d}" if membership.renews_on else ""
        parts.append(f"You're on {membership.plan} with ${membership.credits:,.0f} in credits{renews}.")
    if rules:
        parts.append(rules.answer)
    if not parts:
        return _staff_question(conversation, "Membership question")
    return Reply(" ".join(parts), purpose=APPROVED_ANSWER if rules else "")


def _event_reply(conversation: Conversation) -> Reply:
    today = timezone.localdate(timezone=conversation.practice.zone)
    campaign = (
        Campaign.objects.filter(practice_id=conversation.practice_id, is_active=True, ends_on__gte=today)
        .order_by("starts_on")
        .first()
    )
    if campaign is None:
        return _staff_question(conversation, "Asked about an event or offer")
    conversation.context["campaign"] = campaign.source_code
    _save(conversation)
    deadline = f" Please RSVP by {campaign.deadline:%b %-d}." if campaign.deadline else ""
    return Reply(f"{campaign.offer_text}{deadline} Want me to find you a time?")


# GLOW qualification and booking.


def _score_window(understanding: Understanding) -> int:
    times = understanding.times
    if times.asap or times.dates and min(times.dates) <= (date.today() + timedelta(days=7)).isoformat():
        return 5
    if times.range_start or times.weekdays or times.dates:
        return 4
    if times.parts_of_day or times.earliest:
        return 3
    return 1


def _remember(conversation: Conversation, understanding: Understanding) -> None:
    """Keep what this message told us, so no question is asked twice."""
    glow = conversation.context.setdefault("glow", {})
    scores = conversation.context.setdefault("scores", {})
    if understanding.service:
        glow["service"] = understanding.service
        scores["goals"] = 5
    if understanding.location:
        glow["location"] = understanding.location
        scores["limitations"] = 5
    if understanding.new_patient is not None:
        glow["new_patient"] = understanding.new_patient
        scores["openness"] = 4 if understanding.new_patient else 5
    if not understanding.times.is_empty():
        glow["times"] = understanding.times.__dict__
        scores["window"] = _score_window(understanding)
    if understanding.cues:
        glow["cues"] = sorted(set(glow.get("cues", [])) | set(understanding.cues))


def _next_question(conversation: Conversation) -> str | None:
    glow = conversation.context.get("glow", {})
    asked = conversation.context.setdefault("asked", [])
    if len(asked) >= MAX_QUESTIONS:
        return None
    practice = conversation.practice
    patient = _patient(conversation)
    questions = []
    if "service" not in glow:
        questions.append(
            (
                "goals",
                "What treatment are you interested in? (For example Botox, lip filler, a HydraFacial "
                "or laser hair removal.)",
            )
        )
    locations = list(practice.locations.filter(is_active=True).values_list("name", flat=True))
    if "location" not in glow and len(locations) > 1:
        questions.append(("limitations", f"Which location works best for you: {' or '.join(locations)}?"))
    if "new_patient" not in glow and not patient.is_returning:
        questions.append(("openness", f"Have you been to {practice.brand_name} before?"))
    if "times" not in glow:
        questions.append(("window", "What days or times work best for you?"))
    for key, question in questions:
        if key not in asked:
            asked.append(key)
            conversation.context["pending_question"] = key
            return question
    return None


def _answer_pending(conversation: Conversation, understanding: Understanding, text: str) -> None:
    """A short answer to the question we asked ("no", "Scottsdale", "weekends") fills that slot."""
    pending = conversation.context.pop("pending_question", None)
    glow = conversation.context.setdefault("glow", {})
    scores = conversation.context.setdefault("scores", {})
    lowered = text.lower()
    if pending == "openness" and "new_patient" not in glow:
        no = any(word in lowered.split() for word in ("no", "nope", "never", "first"))
        yes = any(word in lowered.split() for word in ("yes", "yep", "yeah", "before", "returning", "y"))
        if no or yes:
            glow["new_patient"] = no and not yes
            scores["openness"] = 4 if glow["new_patient"] else 5
    if pending == "limitations" and "location" not in glow:
        for location in conversation.practice.locations.filter(is_active=True):
            if location.name.lower().split()[0] in lowered or location.slug in lowered:
                glow["location"] = location.slug
                scores["limitations"] = 5
    if pending == "window" and "times" not in glow:
        glow["times"] = understanding.times.__dict__ if not understanding.times.is_empty() else {"asap": True}
        scores["window"] = _score_window(understanding) if not understanding.times.is_empty() else 3


def _preferences(times: dict) -> tuple[Preferences, datetime | None]:
    weekdays = set(times.get("weekdays") or [])
    for iso in times.get("dates") or []:
        weekdays.add(date.fromisoformat(iso).weekday())
    parts = frozenset(times.get("parts_of_day") or []) or None
    earliest = time.fromisoformat(times["earliest"]) if times.get("earliest") else None
    latest = time.fromisoformat(times["latest"]) if times.get("latest") else None
    start = None
    if times.get("range_start"):
        start = date.fromisoformat(times["range_start"])
    elif times.get("dates"):
        start = date.fromisoformat(min(times["dates"]))
    return Preferences(
        weekdays=frozenset(weekdays) or None, parts_of_day=parts, earliest=earliest, latest=latest
    ), start


def _offer(conversation: Conversation, *, reschedule: Appointment | None = None) -> Reply:
    practice = conversation.practice
    glow = conversation.context.get("glow", {})
    patient = _patient(conversation)
    if reschedule is not None:
        service, location, provider = reschedule.service, reschedule.location, None
    else:
        requested = Service.objects.filter(practice=practice, slug=glow.get("service"), is_active=True).first()
        if requested is None:
            return Reply("What treatment would you like to book?")
        if glow.get("new_patient") is False and not patient.is_returning:
            patient.is_returning = True
            patient.save(update_fields=["is_returning"])  # through save, so the patient's history has it
        service = service_to_offer(service=requested, patient=patient)
        location = Location.objects.filter(practice=practice, slug=glow.get("location")).first()
        provider = None
    preferences, first_day = _preferences(glow.get("times") or {})
    zone = (location or practice).zone
    now = timezone.now()
    start = max(now, datetime.combine(first_day, time.min, zone)) if first_day else now
    slots = first_choices(
        service=service,
        start=start,
        end=start + timedelta(days=SEARCH_DAYS),
        days=3,
        location=location,
        provider=provider,
        preferences=preferences,
    )
    if len(slots) < 3:  # widen: any time of day, then any day, before saying there is nothing
        more = first_choices(
            service=service,
            start=now,
            end=now + timedelta(days=SEARCH_DAYS),
            days=3,
            location=location,
            provider=provider,
        )
        slots += [slot for slot in more if slot.start.date() not in {s.start.date() for s in slots}]
        slots = sorted(slots, key=lambda slot: slot.start)[:3]
    if not slots:
        _staff_question(conversation, f"No open {service.name} times in the next {SEARCH_DAYS} days")
        return Reply(
            f"I don't see an open {service.name} time in the next few weeks. I've asked our team to call "
            "you with options."
        )
    conversation.context["offered"] = [
        {
            "start": slot.start.isoformat(),
            "provider": slot.provider_id,
            "location": slot.location_id,
            "service": service.pk,
        }
        for slot in slots
    ]
    conversation.context["rescheduling"] = reschedule.pk if reschedule else None
    _save(conversation, state=Conversation.State.OFFERING)
    consult = ""
    if reschedule is None and service.slug != glow.get("service"):
        consult = f"New patients start with a quick {service.name.lower()} first. "
    options = " ".join(
        f"{index}) {_when(slot.start)}{' at ' + Location.objects.get(pk=slot.location_id).name if location is None and practice.locations.count() > 1 else ''}"  # noqa: E501
        for index, slot in enumerate(slots, start=1)
    )
    return Reply(f"{consult}I have {options}. Reply 1, 2 or 3 to book.", purpose=TIMES_OFFERED)


def _reminders(appointment: Appointment, conversation: Conversation) -> None:
    # By the patient's preferred channel where they can be reached on it, else SMS (outreach/reminders.py).
    reminders_schedule(appointment=appointment, conversation=conversation)


def _confirmation(appointment: Appointment) -> str:
    return message_text(
        practice=appointment.practice,
        key="appointment_confirmation",
        service=appointment.service.name,
        when=_when(appointment.local_start),
        location=f"{appointment.location.name}, {appointment.location.address}",
        prep=appointment.service.prep_instructions,
    )


def _book_choice(conversation: Conversation, choice: int, source: str) -> Reply:
    offered = conversation.context.get("offered") or []
    picked = offered[choice - 1]
    practice = conversation.practice
    start = datetime.fromisoformat(picked["start"])
    rescheduling = conversation.context.get("rescheduling")
    try:
        with transaction.atomic():
            if rescheduling:
                appointment = booking.appointment_reschedule(
                    appointment=Appointment.objects.get(pk=rescheduling, practice=practice),
                    starts_at=start,
                    provider=Provider.objects.get(pk=picked["provider"], practice=practice),
                )
                Outreach.objects.filter(appointment=appointment, state=Outreach.State.PENDING).update(
                    state=Outreach.State.CANCELLED, state_reason="visit moved"
                )
            else:
                campaign = Campaign.objects.filter(
                    practice=practice, source_code=conversation.context.get("campaign") or ""
                ).first()
                enrollment = (
                    SeriesEnrollment.objects.filter(
                        patient=_patient(conversation), template__service_id=picked["service"]
                    )
                    .exclude(status__in=["completed", "paused"])
                    .first()
                )
                appointment = booking.appointment_book(
                    practice=practice,
                    patient=_patient(conversation),
                    service=Service.objects.get(pk=picked["service"], practice=practice),
                    location=Location.objects.get(pk=picked["location"], practice=practice),
                    provider=Provider.objects.get(pk=picked["provider"], practice=practice),
                    starts_at=start,
                    source=source,
                    campaign=campaign,
                    enrollment=enrollment,
                )
    except booking.SlotUnavailable:
        offer = _offer(conversation)
        return Reply("So sorry, that time was just taken! " + offer.text, purpose=offer.purpose)
    conversation.context.update({"offered": [], "rescheduling": None, "appointment": appointment.pk})
    _save(conversation, state=Conversation.State.BOOKED)
    _reminders(appointment, conversation)
    intake_invite(appointment=appointment)  # a new patient's form link, a minute after the confirmation
    return Reply(_confirmation(appointment), done=True)


def _upcoming(conversation: Conversation) -> Appointment | None:
    # The thread's patient's: a number staff linked finds its patient's visits, an unlinked one only its own.
    return history.upcoming_visit(_patient(conversation))


def _cancel(conversation: Conversation) -> Reply:
    appointment = _upcoming(conversation)
    if appointment is None:
        return Reply("I don't see an upcoming visit under this number. Want me to find you a time instead?")
    booking.appointment_cancel(appointment=appointment, reason="Cancelled by text")
    Outreach.objects.filter(appointment=appointment, state=Outreach.State.PENDING).update(
        state=Outreach.State.CANCELLED, state_reason="visit cancelled"
    )
    _save(conversation, state=Conversation.State.CLOSED)
    return Reply(
        f"Done: your {appointment.service.name} on {_when(appointment.local_start)} is cancelled. "
        "Reply anytime to book again."
    )


def _confirm(conversation: Conversation) -> Reply:
    appointment = _upcoming(conversation)
    if appointment is None:
        return Reply("I don't see an upcoming visit under this number. Want me to find you a time?")
    booking.appointment_confirm(appointment=appointment)
    return Reply(
        f"Thanks, you're confirmed for {appointment.service.name} on {_when(appointment.local_start)}. See you then!"
    )


NOT_READY = re.compile(
    r"\b(not\s+(ready|yet|now|right\s+now|this\s+(week|month))|maybe\s+(later|next)|busy|later|check\s+back|"
    r"no\s+thanks|not\s+interested|traveling|travelling|ahora\s+no)\b"
)


def _not_ready(conversation: Conversation) -> Reply:
    """A series patient who isn't ready: a dated follow-up task for staff, never a memory."""
    enrollment = SeriesEnrollment.objects.filter(pk=conversation.context["series"]).first()
    due_on = timezone.localdate(timezone=conversation.practice.zone) + timedelta(days=14)
    booking.follow_up_create(
        patient=_patient(conversation),
        kind=FollowUpTask.Kind.NOT_READY,
        due_on=due_on,
        reason="Not ready to book after a rebooking prompt",
        enrollment=enrollment,
    )
    conversation.context = {}
    _save(conversation, state=Conversation.State.CLOSED)
    return Reply("No problem! We'll check back in a couple of weeks. Reply anytime when you're ready.")


# A patient we know: pick up from their history instead of starting from zero. Only the thread's own
# patient counts (a number staff have not linked is its own record), and every time comes from the engine.

KEEP_VISIT = re.compile(
    r"\b(keep|keeping|that\s+works|sounds\s+good|still\s+(on|good|coming)|i'?ll\s+be\s+there|all\s+good|fine|"
    r"perfect|great|ok|okay|sure|yes|yep|yeah|si)\b"
)
SOMETHING_ELSE = re.compile(r"\b(something\s+else|else|other|no|nope|nah|not\s+that|question)\b")
SAME_AGAIN = re.compile(r"\b(yes|yep|yeah|y|sure|ok|okay|please|same|again|sounds\s+good|perfect|great|si)\b")


def _hello(conversation: Conversation) -> str:
    first_name = conversation.patient.first_name if conversation.patient_id else ""
    return f"Hi {first_name}!" if first_name else "Hi!"


def _series_due_text(enrollment: SeriesEnrollment, today: date) -> str:
    if today > enrollment.next_due_until:
        return f"was due by {enrollment.next_due_until:%b %-d}"
    return f"is due between {enrollment.next_due_from:%b %-d} and {enrollment.next_due_until:%b %-d}"


def _opener(conversation: Conversation, intent: str) -> Reply | None:
    """A known patient opening a thread with a hello (or words we can't place): their next visit, else a
    series visit that is due (with real times), else their last treatment. Once per thread opening."""
    state = conversation.state
    fresh = state == Conversation.State.GREETING or (
        intent == "greeting" and state in (Conversation.State.BOOKED, Conversation.State.CLOSED)
    )
    if not fresh or conversation.context.get("opened") or conversation.patient_id is None:
        return None
    patient = conversation.patient
    visit = history.upcoming_visit(patient)
    enrollment = history.due_series(patient) if visit is None else None
    service = history.last_service(patient) if visit is None and enrollment is None else None
    if visit is None and enrollment is None and service is None:
        return None
    if state != Conversation.State.GREETING:
        conversation.context = {}  # a new visit's dialogue, not the last one's
    hello = _hello(conversation)
    if visit is not None:
        conversation.context.update({"opened": True, "pending_question": "visit", "visit": visit.pk})
        _save(conversation, state=Conversation.State.GREETING)
        return Reply(
            f"{hello} I see you're booked for {visit.service.name} on {_when(visit.local_start)}. Do you want "
            "to keep it, move it, or something else?"
        )
    if enrollment is not None:
        conversation.context = {**series_dialogue(enrollment), "opened": True}
        _save(conversation, state=Conversation.State.QUALIFYING)
        offer = _offer(conversation)
        today = timezone.localdate(timezone=conversation.practice.zone)
        due = _series_due_text(enrollment, today)
        return Reply(
            f"{hello} Your next {enrollment.template.service.name} visit {due}. {offer.text}", purpose=offer.purpose
        )
    conversation.context.update({"opened": True, "pending_question": "same_again", "same_again": service.slug})
    _save(conversation, state=Conversation.State.GREETING)
    return Reply(
        f"{hello} Welcome back to {conversation.practice.brand_name}. Would you like to book another "
        f"{service.name}, or is it something else?"
    )


def _answer_history_question(conversation: Conversation, understanding: Understanding, text: str) -> Reply | None:
    """An answer to what the opener asked: keep the visit (confirmed), the same treatment again, or
    something else. Anything else (move it, cancel, a new treatment) goes on to the usual handling."""
    pending = conversation.context.get("pending_question")
    intent = understanding.intent
    lowered = text.lower()
    if pending == "visit" and intent in ("confirm", "other", "greeting"):
        keep = "keep" in lowered or (KEEP_VISIT.search(lowered) and not SOMETHING_ELSE.search(lowered))
        if intent == "confirm" or keep:
            conversation.context.pop("pending_question")
            _save(conversation)
            return _confirm(conversation)
        if SOMETHING_ELSE.search(lowered):
            conversation.context.pop("pending_question")
            _save(conversation)
            return Reply("Sure! What can I help you with? I can book a treatment or answer a question.")
    if pending == "same_again" and not understanding.service and intent in ("confirm", "other", "book"):
        glow = conversation.context.setdefault("glow", {})
        if SOMETHING_ELSE.search(lowered):
            conversation.context.pop("pending_question")
        elif intent == "confirm" or SAME_AGAIN.search(lowered):
            conversation.context.pop("pending_question")
            glow.update({"service": conversation.context["same_again"], "new_patient": False})
            conversation.context.setdefault("scores", {}).update({"goals": 5, "openness": 5})
        else:
            return None
        question = _next_question(conversation)
        if question:
            _save(conversation, state=Conversation.State.QUALIFYING)
            return Reply(question)
        return _offer(conversation)
    return None


def _assume_from_history(conversation: Conversation) -> str:
    """ "I want to book again" without naming a treatment: assume the series that is due, else the last
    treatment, and say so, so the patient can correct it. Returns what to say first, or ""."""
    glow = conversation.context.setdefault("glow", {})
    if "service" in glow or glow.get("new_patient") is True:
        return ""
    patient = conversation.patient
    enrollment = history.due_series(patient)
    if enrollment is not None:
        series = series_dialogue(enrollment)
        glow.update({"service": series["glow"]["service"], "new_patient": False})
        glow.setdefault("times", series["glow"]["times"])
        conversation.context["series"] = enrollment.pk
        conversation.context.setdefault("scores", {}).update({"goals": 5, "openness": 5})
        today = timezone.localdate(timezone=conversation.practice.zone)
        due = _series_due_text(enrollment, today)
        return f"Your next {enrollment.template.service.name} visit {due}, so I'll look for that. "
    service = history.last_service(patient)
    if service is None:
        return ""
    glow.update({"service": service.slug, "new_patient": False})
    conversation.context.setdefault("scores", {}).update({"goals": 5, "openness": 5})
    return f"I'll look for {service.name} again, like last time (just say if you'd like something else). "


def _resume(conversation: Conversation, understanding: Understanding) -> Reply | None:
    """A hello in the middle of a dialogue (back after a while, or just "hi"): pick up where it stopped,
    asking the pending question again, or offering times afresh from the engine."""
    if understanding.intent != "greeting" or conversation.state not in (
        Conversation.State.QUALIFYING,
        Conversation.State.OFFERING,
    ):
        return None
    first_name = conversation.patient.first_name if conversation.patient_id else ""
    hello = f"Welcome back, {first_name}!" if first_name else "Welcome back!"
    slug = conversation.context.get("glow", {}).get("service")
    service = Service.objects.filter(practice_id=conversation.practice_id, slug=slug or "").first()
    about = f" We were finding you a time for {service.name}." if service else ""
    if conversation.state == Conversation.State.QUALIFYING:
        pending = conversation.context.get("pending_question")
        asked = conversation.context.setdefault("asked", [])
        if pending in asked:
            asked.remove(pending)  # so that it is asked again
        question = _next_question(conversation)
        if question:
            _save(conversation)
            return Reply(f"{hello}{about} {question}")
    rescheduling = conversation.context.get("rescheduling")
    appointment = Appointment.objects.filter(pk=rescheduling, practice_id=conversation.practice_id).first()
    offer = _offer(conversation, reschedule=appointment if rescheduling else None)
    return Reply(f"{hello}{about} {offer.text}", purpose=offer.purpose)


def respond(
    *, conversation: Conversation, message: Message, understanding: Understanding, source: str = Appointment.Source.SMS
) -> Reply:
    """The receptionist's next words (and the booking, cancel or confirm behind them)."""
    intent = understanding.intent
    practice = conversation.practice
    if history.left_long_ago(conversation, before=message):
        # Times offered and questions half-answered more than a week ago are stale: start over.
        conversation.context = {}
        _save(conversation, state=Conversation.State.GREETING)
    if conversation.context.get("series") and NOT_READY.search(message.body.lower()):
        return _not_ready(conversation)
    offered = [datetime.fromisoformat(slot["start"]) for slot in conversation.context.get("offered") or []]
    if conversation.state == Conversation.State.OFFERING and offered and understanding.choice is None:
        from .understanding import parse_choice

        understanding.choice = parse_choice(message.body, offered)
    if conversation.state == Conversation.State.OFFERING and understanding.choice is not None and offered:
        return _book_choice(conversation, understanding.choice, source)
    changes_search = understanding.location or understanding.service or not understanding.times.is_empty()
    if (
        conversation.state == Conversation.State.OFFERING
        and changes_search
        and intent in ("book", "other", "reschedule")
    ):
        # "Midtown", "anything later?", "what about Saturday": search again with what they just told us.
        _remember(conversation, understanding)
        rescheduling = conversation.context.get("rescheduling")
        appointment = Appointment.objects.filter(pk=rescheduling).first() if rescheduling else None
        return _offer(conversation, reschedule=appointment)
    picked_up = _resume(conversation, understanding) or _answer_history_question(
        conversation, understanding, message.body
    )
    if picked_up is not None:
        return picked_up

    _answer_pending(conversation, understanding, message.body)
    _remember(conversation, understanding)
    service = Service.objects.filter(practice=practice, slug=understanding.service or "").first()

    if intent == "cancel":
        return _cancel(conversation)
    if intent == "confirm" and conversation.state != Conversation.State.QUALIFYING:
        return _confirm(conversation)
    if intent == "reschedule":
        appointment = _upcoming(conversation)
        if appointment is None:
            return Reply("I don't see an upcoming visit under this number. Want me to find you a time?")
        return _offer(conversation, reschedule=appointment)
    if intent == "pricing":
        return _price_reply(conversation, service)
    if intent == "hours_location":
        return _hours_reply(conversation)
    if intent == "membership":
        return _membership_reply(conversation)
    if intent == "event_offer":
        return _event_reply(conversation)
    if intent == "question":
        answer = _approved_answer(conversation, message.body)
        if answer:
            return Reply(answer.answer, purpose=APPROVED_ANSWER)
        return _staff_question(conversation, "Question for staff (see the conversation)")
    if intent in ("greeting", "other") and not changes_search:
        opener = _opener(conversation, intent)
        if opener is not None:
            return opener
    if intent == "greeting" and conversation.state == Conversation.State.GREETING:
        return Reply(
            f"Hi! This is {practice.brand_name}'s automated assistant. Are you looking to book a "
            "treatment, or do you have a question?"
        )
    wants_to_book = (
        intent == "book"
        or conversation.state == Conversation.State.QUALIFYING
        or (intent == "confirm" and conversation.state == Conversation.State.QUALIFYING)
    )
    if wants_to_book or (conversation.state == Conversation.State.GREETING and service is not None):
        conversation.context["misses"] = 0
        assumed = _assume_from_history(conversation) if intent == "book" else ""
        question = _next_question(conversation)
        if question:
            _save(conversation, state=Conversation.State.QUALIFYING)
            return Reply(assumed + question)
        offer = _offer(conversation)
        return Reply(assumed + offer.text, purpose=offer.purpose) if assumed else offer
    return _misunderstood(conversation)
