"""Six weeks of history for the demo practice: calls, missed-call text-backs, conversations that book,
visits that show up (or don't), reminders, confirmations and escalations, so every analytics page has
something real to show.

The history follows the live rules rather than drawing numbers: a call outside business hours is missed
as after hours; a text-back waits out quiet hours in the patient's zone; a caller we were in touch with
in the last day, an opted-out, blocked or withheld number gets none; patients' words are read by the
receptionist's own understander; times offered come from the booking engine as of the moment they were
offered, so visits never overlap (the database's exclusion constraints agree); the wording is the
practice's. It is generated once, like the booking demo: a practice that already has calls keeps them,
so running the seed again changes nothing.
"""

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from booking.availability import Slot
from booking.demo import FIRST_NAMES, LAST_NAMES
from booking.models import Appointment
from booking.selectors import first_choices
from escalations.models import SLA, Escalation
from escalations.rules import PRIORITY
from escalations.services import SUMMARY_FIELDS
from practices.demo import upsert
from practices.message_templates import DEFAULTS, render
from practices.models import (
    ApprovedAnswer,
    BlockedNumber,
    Campaign,
    Closure,
    ConsentEvent,
    ContactConsent,
    Location,
    Patient,
    PhoneNumber,
    Practice,
    Service,
    StaffMember,
)

from .messaging.quiet_hours import next_allowed, patient_zone
from .models import Call, Channel, Conversation, Message, Outreach
from .receptionist.context import location_words, practice_menu
from .receptionist.dialogue import APPROVED_ANSWER, TIMES_OFFERED, _preferences, _when
from .receptionist.handoff import NOT_PROMISED, QUESTIONS, _reply_text
from .receptionist.understanding import Understanding, default_understander

SEED = 20261201
HISTORY_DAYS = 42
TRACKING_NUMBER = "+12125550160"
SPAM_NUMBER = "+18885550142"
SIMULATOR_CALLER = "+13475550123"  # the demo phone's default caller: its thread starts empty

# Calls a day across both locations, Monday first: busy weekdays, a quieter Saturday, a trickle on Sunday.
DAILY_CALLS = [(31, 40), (29, 38), (29, 38), (30, 39), (28, 37), (16, 22), (5, 8)]
LOCATION_SHARE = {"midtown": 0.58, "scottsdale": 0.42}
# Local hour of day: late morning and lunch peak, a tail into the evening, almost nothing overnight.
HOUR_WEIGHTS = [0.06] * 7 + [0.6, 2.2, 5, 8, 10, 10, 8.5, 7, 6.5, 6, 4.5, 3, 1.8, 1.2, 0.7, 0.4, 0.2]
# Share of in-hours calls the desk misses: more when the lunch rush and the end of the day stack up.
MISS_RATE = {11: 0.31, 12: 0.36, 13: 0.32, 16: 0.26, 17: 0.28}
MISS_RATE_OTHERWISE = 0.21
# Fewer people call when the spa is closed: a call drawn for a closed hour is redrawn this often.
CLOSED_REDRAW = 0.65
CAMPAIGN_DAYS = 30  # the tracking number went live with the ads a month ago
CAMPAIGN_SHARE = 0.2  # of Midtown's calls since then

REPLY_RATE = {"campaign": 0.64, "patient": 0.58, "new": 0.52}
QUALIFY_RATE = 0.7
BOOK_RATE = 0.65
CONFIRM_RATE = 0.72

# What callers ask about, by location (what each location can actually book).
LEAD_MENU = {
    "midtown": {
        "botox": 24,
        "dysport": 6,
        "lip-filler": 16,
        "cheek-filler": 6,
        "microneedling": 7,
        "laser-hair-removal": 12,
        "ipl-photofacial": 6,
        "coolsculpting": 5,
    },
    "scottsdale": {
        "botox": 18,
        "dysport": 5,
        "lip-filler": 12,
        "cheek-filler": 5,
        "hydrafacial": 20,
        "chemical-peel": 8,
        "microneedling": 10,
        "morpheus8": 6,
    },
}
CAMPAIGN_MENU = {"botox": 45, "dysport": 12, "lip-filler": 30, "cheek-filler": 13}
# What a visit brings in when the menu gives no whole-visit price (priced per unit, syringe or area).
FALLBACK_VALUE = {
    "neuromodulator": Decimal("420.00"),
    "filler": Decimal("750.00"),
    "skin": Decimal("300.00"),
    "laser": Decimal("275.00"),
    "body": Decimal("1100.00"),
    "wellness": Decimal("150.00"),
    "consultation": Decimal("0.00"),
}

SERVICE_WORDS = {
    "botox": ["Botox", "tox", "a Botox touch up", "baby botox"],
    "dysport": ["Dysport"],
    "lip-filler": ["lip filler", "lip injections", "filler in my lips"],
    "cheek-filler": ["cheek filler", "Voluma in my cheeks"],
    "hydrafacial": ["a HydraFacial", "a hydra facial"],
    "chemical-peel": ["a chemical peel", "a VI peel"],
    "microneedling": ["microneedling", "SkinPen microneedling"],
    "morpheus8": ["Morpheus8", "RF microneedling"],
    "laser-hair-removal": ["laser hair removal", "laser hair removal on my legs"],
    "ipl-photofacial": ["IPL for my sun spots", "a photofacial"],
    "coolsculpting": ["CoolSculpting", "fat freezing on my stomach"],
}
FIRST_REPLIES = [
    "Hi! I was calling about {word}. Do you have anything soon?",
    "Looking to book {word}",
    "I'd like to schedule {word} please",
    "Do you have any openings for {word}?",
    "Hi yes, I wanted to book {word}",
    "Hey! Trying to get in for {word}",
    "Can I come in for {word}?",
]
CAMPAIGN_REPLIES = [
    "Hi! I saw your ad, I'd like to book {word}",
    "Calling about the injectables special, can I book {word}?",
]
PRICE_QUESTIONS = ["How much is {word}?", "What do you charge for {word}?", "How much for {word}?"]
OTHER_QUESTIONS = [
    ("Do you offer financing?", "financing"),
    ("Is there parking nearby?", "parking"),
    ("Do you take a deposit?", "deposit"),
]
WINDOW_ANSWERS = [
    "Weekday mornings are best",
    "Any afternoon works",
    "Next week would be best",
    "Sometime next week, mornings",
    "Saturday if possible",
    "Thursday or Friday",
    "Tuesday afternoon?",
    "After 5 if you have it",
    "Anytime really, the sooner the better",
    "Whenever you have something",
]
CHOICE_REPLIES = {1: ["1", "1 please", "The first one works"], 2: ["2", "2 please", "Option 2"], 3: ["3", "3 works"]}
CONFIRM_REPLIES = ["Y", "Yes", "Y thank you!", "Confirmed"]
CANCEL_REASONS = [
    ("Schedule conflict", 34),
    ("Feeling unwell", 22),
    ("Cancelled by text", 22),
    ("Cost", 12),
    ("Found another provider", 10),
]

ESCALATIONS = {
    Escalation.Category.EMERGENCY: [
        "My lip looks white and really hurts after my filler yesterday",
        "My eyelid started drooping a few days after my Botox",
        "The swelling is getting worse and spreading to my eye, is this ok??",
        "I think the injection site is infected, there's pus and it's hot to the touch",
    ],
    Escalation.Category.CLINICAL: [
        "Can I still get Botox if I'm breastfeeding?",
        "Is it normal to have a lump in my lip after filler?",
        "I'm on blood thinners, can I get filler?",
        "How many units of Botox would I need for my forehead?",
        "Bruising is still there from my filler last week, is that normal?",
        "I started Accutane last month, is it safe to do a peel?",
        "Is it ok to work out the day after microneedling?",
    ],
    Escalation.Category.HUMAN_REQUEST: [
        "Can someone call me please? I have a question about my bill",
        "I'd like to speak to a real person",
        "Is this a bot? I want to talk to someone at the front desk",
        "Please have someone call me back about my package",
    ],
    Escalation.Category.COMPLAINT: [
        "I waited over an hour for my appointment yesterday, really disappointed",
        "The front desk was so rude to me today, really unprofessional",
        "I left two voicemails and nobody called me back",
        "I was charged twice for my facial",
    ],
    Escalation.Category.EXCEPTION: [
        "Can you waive the late cancellation fee? I got stuck at work",
        "Do you price match? Another place quoted me less",
        "I'd like a refund for my peel package",
        "Can I pause my membership for two months?",
    ],
}
ESCALATION_MIX = [
    (Escalation.Category.CLINICAL, 34),
    (Escalation.Category.HUMAN_REQUEST, 28),
    (Escalation.Category.EXCEPTION, 16),
    (Escalation.Category.COMPLAINT, 13),
    (Escalation.Category.EMERGENCY, 9),
]
# How long the desk takes to pick each kind up, in minutes (median, spread).
CLAIM_MINUTES = {
    Escalation.Category.EMERGENCY: (1.0, 0.35),
    Escalation.Category.HUMAN_REQUEST: (7, 0.7),
    Escalation.Category.CLINICAL: (22, 0.8),
    Escalation.Category.COMPLAINT: (35, 0.8),
    Escalation.Category.EXCEPTION: (70, 0.8),
}
RESOLUTIONS = {
    Escalation.Category.EMERGENCY: [
        "Called right away; Dr. Chen saw her within the hour and dissolved the filler. Follow-up booked.",
        "Called the patient; the provider assessed over video and booked a same-day check.",
    ],
    Escalation.Category.CLINICAL: [
        "Provider called back and answered; no change to the plan.",
        "Nurse answered the question by phone and noted it in the chart.",
        "Provider advised waiting until after nursing; patient will reach out later.",
    ],
    Escalation.Category.HUMAN_REQUEST: [
        "Called back and sorted it out.",
        "Called the patient; question about the bill answered.",
    ],
    Escalation.Category.COMPLAINT: [
        "Manager called, apologised and offered a complimentary touch-up.",
        "Called the patient; refunded the duplicate charge.",
    ],
    Escalation.Category.EXCEPTION: [
        "Manager approved a one-time waiver.",
        "Explained the policy; patient understood.",
        "Membership paused for two months as requested.",
    ],
}


@dataclass
class _Visit:
    starts_at: datetime
    ends_at: datetime
    status: str
    cancelled_at: datetime | None
    service_name: str
    location: Location

    def booked_at(self, moment: datetime) -> bool:
        """Whether the visit was on the calendar (not yet cancelled) at `moment`."""
        return self.cancelled_at is None or self.cancelled_at > moment


@dataclass
class _Caller:
    phone: str
    from_raw: str
    patient: Patient | None


def seed_calls_demo(practice: Practice) -> None:
    campaign = practice.campaigns.order_by("pk").first()
    main_lines = {}
    for number in PhoneNumber.objects.filter(practice=practice, campaign__isnull=True).order_by("pk"):
        main_lines.setdefault(number.location_id, number)
    if not main_lines:
        return
    if campaign is not None:
        first_line = next(iter(main_lines.values()))
        upsert(
            PhoneNumber,
            number=TRACKING_NUMBER,
            defaults={
                "practice": practice,
                "location": first_line.location,
                "label": f"{campaign.name} ads",
                "forwards_to": first_line.forwards_to,
                "ring_timeout_seconds": first_line.ring_timeout_seconds,
                "twilio_sid": "PNdemo0000000000000000000000000003",
                "campaign": campaign,
            },
        )
    if Call.objects.filter(practice=practice).exists():
        return
    _History(practice, main_lines=main_lines, campaign=campaign).build()


def _minutes(rng: random.Random, median: float, spread: float, low: float, high: float) -> timedelta:
    """A log-normal delay: most people answer fast, a few take hours."""
    return timedelta(minutes=min(high, max(low, rng.lognormvariate(math.log(median), spread))))


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _History:
    def __init__(self, practice: Practice, *, main_lines: dict[int, PhoneNumber], campaign: Campaign | None):
        self.practice = practice
        self.rng = random.Random(SEED)
        self.now = timezone.now()
        self.main_lines = main_lines
        self.campaign = campaign
        self.tracking = (
            PhoneNumber.objects.filter(number=TRACKING_NUMBER, campaign=campaign).first() if campaign else None
        )
        self.locations = {location.pk: location for location in practice.locations.filter(is_active=True)}
        self.services = {service.slug: service for service in Service.objects.filter(practice=practice)}
        self.consultation = (
            Service.objects.filter(practice=practice, category=Service.Category.CONSULTATION, is_active=True)
            .order_by("pk")
            .first()
        )
        self.hours = defaultdict(list)
        for location in self.locations.values():
            for hours in location.hours.all():
                self.hours[location.pk, hours.weekday].append((hours.opens_at, hours.closes_at))
        self.closures = list(Closure.objects.filter(practice=practice))
        staff = StaffMember.objects.filter(practice=practice, role=StaffMember.Role.FRONT_DESK).order_by("pk").first()
        self.front_desk = staff.user if staff else None
        self.wording = DEFAULTS | dict(practice.message_templates.values_list("key", "body"))
        self.understander = default_understander()
        self.readings: dict[tuple[str, bool], Understanding] = {}
        self.menu = practice_menu(practice)
        self.location_words = location_words(practice)
        self.answers = {a.topic: a.answer for a in ApprovedAnswer.objects.filter(practice=practice)}

        self.patients = list(Patient.objects.filter(practice=practice).order_by("pk"))
        self.patient_by_phone = {patient.phone: patient for patient in self.patients}
        self.members = set(practice.memberships.filter(status="active").values_list("patient_id", flat=True))
        self.visits: dict[int, list[_Visit]] = defaultdict(list)
        for appointment in Appointment.objects.filter(practice=practice).select_related("service"):
            self.visits[appointment.patient_id].append(self._visit(appointment))
        taken = {p.phone for p in self.patients} | {n.number for n in PhoneNumber.objects.all()}
        taken |= {SIMULATOR_CALLER, SPAM_NUMBER}
        self.fresh_numbers = {}
        for location in self.locations.values():
            area = "480" if location.time_zone == "America/Phoenix" else "646"
            pool = [f"+1{area}555{n:04d}" for n in range(4000, 10000) if f"+1{area}555{n:04d}" not in taken]
            self.rng.shuffle(pool)
            self.fresh_numbers[location.pk] = pool
        self.seen_numbers = defaultdict(list)
        self.opted_out: set[str] = set()

        self.calls: list[Call] = []
        self.threads: dict[str, Conversation] = {}
        self.messages: list[Message] = []
        self.outreach: list[Outreach] = []
        self.escalations: list[Escalation] = []
        self.touches: dict[str, list[datetime]] = defaultdict(list)
        self.texted: set[str] = set()  # threads with an outbound message (the first carries the opt-out hint)
        self.text_backs: dict[str, list[datetime]] = defaultdict(list)
        self.sids = 0
        self.zones: dict[tuple[str, str], ZoneInfo] = {}

    # The whole story, in time order.

    def build(self) -> None:
        self._opt_outs_before_the_history()
        BlockedNumber.objects.get_or_create(
            practice=self.practice, phone=SPAM_NUMBER, defaults={"reason": "Robocaller"}
        )
        events = [(started, 0, location, None) for started, location in self._call_times()]
        events += [(at, 1, location, category) for at, location, category in self._escalation_times()]
        events.sort(key=lambda event: (event[0], event[1], event[2].pk))
        for at, kind, location, category in events:
            if kind == 0:
                self._call(at, location)
            else:
                self._escalation(at, location, category)
        self._save()

    def _opt_outs_before_the_history(self) -> None:
        """A few numbers that texted STOP long ago: their missed calls get no text-back."""
        for location in self.locations.values():
            for _ in range(2):
                phone = self.fresh_numbers[location.pk].pop()
                at = self.now - timedelta(days=HISTORY_DAYS + self.rng.randint(10, 200))
                self._record_opt_out(phone, at, evidence="")
                self.seen_numbers[location.pk].append(phone)

    def _record_opt_out(self, phone: str, at: datetime, *, evidence: str) -> None:
        ContactConsent.objects.update_or_create(
            practice=self.practice,
            phone=phone,
            defaults={"status": ContactConsent.Status.OPTED_OUT, "updated_at": at},
        )
        ConsentEvent.objects.create(
            practice=self.practice,
            phone=phone,
            kind=ConsentEvent.Kind.OPT_OUT,
            source=ConsentEvent.Source.SMS_KEYWORD,
            occurred_at=at,
            told=self._text("opt_out_confirmation"),
            evidence=evidence,
        )
        self.opted_out.add(phone)

    def _call_times(self) -> list[tuple[datetime, Location]]:
        times = []
        for location in self.locations.values():
            today = timezone.localdate(timezone=location.zone)
            share = LOCATION_SHARE.get(location.slug, 1 / len(self.locations))
            for offset in range(HISTORY_DAYS, -1, -1):
                day = today - timedelta(days=offset)
                low, high = DAILY_CALLS[day.weekday()]
                for _ in range(round(self.rng.randint(low, high) * share)):
                    started = self._call_time(day, location)
                    if not self._is_open(location, started) and self.rng.random() < CLOSED_REDRAW:
                        started = self._call_time(day, location)
                    if started < self.now - timedelta(minutes=2):
                        times.append((started, location))
        return times

    def _call_time(self, day: date, location: Location) -> datetime:
        hour = self.rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        wall = time(hour, self.rng.randrange(60), self.rng.randrange(60))
        return datetime.combine(day, wall, location.zone).astimezone(UTC)

    def _escalation_times(self) -> list[tuple[datetime, Location, str]]:
        times = []
        locations = list(self.locations.values())
        for offset in range(HISTORY_DAYS, -1, -1):
            for _ in range(self.rng.choice([1, 1, 2, 2, 2, 3])):
                location = self.rng.choice(locations)
                day = timezone.localdate(timezone=location.zone) - timedelta(days=offset)
                hour = self.rng.choices(range(8, 23), weights=[2, 6, 8, 9, 9, 8, 8, 7, 6, 5, 4, 2, 1.5, 1, 0.5])[0]
                at = datetime.combine(day, time(hour, self.rng.randrange(60)), location.zone).astimezone(UTC)
                if at < self.now - timedelta(hours=2):
                    times.append((at, location, _weighted(self.rng, dict(ESCALATION_MIX))))
        # Two from the last couple of hours that nobody has picked up yet: the console's queue has work.
        location = locations[0]
        times.append((self.now - timedelta(minutes=83), location, Escalation.Category.CLINICAL))
        times.append((self.now - timedelta(minutes=36), location, Escalation.Category.HUMAN_REQUEST))
        return times

    # Calls.

    def _call(self, started: datetime, location: Location) -> None:
        rng = self.rng
        number = self.main_lines.get(location.pk)
        campaign_window = self.now - timedelta(days=CAMPAIGN_DAYS)
        if (
            self.tracking is not None
            and self.tracking.location_id == location.pk
            and started >= campaign_window
            and rng.random() < CAMPAIGN_SHARE
        ):
            number = self.tracking
        if number is None:
            return
        caller = self._caller(location, campaign=number.campaign_id is not None)
        self.sids += 1
        call = Call(
            practice=self.practice,
            location=location,
            phone_number=number,
            campaign_id=number.campaign_id,
            call_sid=f"CAdemo{self.sids:028d}",
            from_raw=caller.from_raw,
            from_phone=caller.phone,
            patient=caller.patient,
            status="completed",
            started_at=started,
        )
        self.calls.append(call)
        if not self._is_open(location, started):
            call.missed, call.missed_reason = True, Call.MissedReason.AFTER_HOURS
            call.missed_at = started + timedelta(seconds=rng.uniform(1, 3))
        elif rng.random() < MISS_RATE.get(started.astimezone(location.zone).hour, MISS_RATE_OTHERWISE):
            call.missed = True
            call.missed_reason = _weighted(
                rng,
                {
                    Call.MissedReason.NO_ANSWER: 72,
                    Call.MissedReason.NOT_ACCEPTED: 15,
                    Call.MissedReason.BUSY: 13,
                },
            )
            call.dial_status = {"no_answer": "no-answer", "busy": "busy"}.get(call.missed_reason, "completed")
            ringing = (
                rng.uniform(2, 6) if call.missed_reason == "busy" else number.ring_timeout_seconds + rng.uniform(0, 3)
            )
            call.missed_at = started + timedelta(seconds=ringing)
        else:
            call.accepted_by_staff, call.answered_by = True, Call.AnsweredBy.STAFF
            call.dial_status = "completed"
            call.duration_seconds = int(min(1500, max(25, rng.lognormvariate(math.log(170), 0.6))))
            return
        call.answered_by = Call.AnsweredBy.RECEPTIONIST
        call.duration_seconds = rng.randint(8, 75)
        self._text_back(call, caller)

    def _caller(self, location: Location, *, campaign: bool) -> _Caller:
        rng = self.rng
        roll = rng.random()
        if roll < 0.02:
            return _Caller("", "anonymous", None)
        if roll < 0.03:
            return _Caller(SPAM_NUMBER, SPAM_NUMBER, None)
        regulars = [p for p in self.patients if (p.home_location_id or location.pk) == location.pk]
        if regulars and rng.random() < (0.15 if campaign else 0.5):
            patient = rng.choice(regulars)
            return _Caller(patient.phone, patient.phone, patient)
        seen = self.seen_numbers[location.pk]
        if seen and rng.random() < 0.18:
            phone = rng.choice(seen)
        else:
            phone = self.fresh_numbers[location.pk].pop()
            seen.append(phone)
        return _Caller(phone, phone, self.patient_by_phone.get(phone))

    def _text_back(self, call: Call, caller: _Caller) -> None:
        """What the live text-back does for this missed call: skip with a reason, or text (now or at 8 am)."""
        outreach = Outreach(
            practice=self.practice,
            kind=Outreach.Kind.TEXT_BACK,
            step=0,
            call=call,
            phone=caller.phone,
            patient=caller.patient,
            location=call.location,
            created_at=call.missed_at,
            due_at=call.missed_at,
        )
        self.outreach.append(outreach)
        since = call.started_at - timedelta(hours=24)
        reason = ""
        if not caller.phone:
            reason = "caller id withheld"
        elif caller.phone in self.opted_out:
            reason = "opted out"
        elif caller.phone == SPAM_NUMBER:
            reason = "blocked number"
        elif any(since <= at < call.started_at for at in self.touches[caller.phone]) or any(
            at >= since for at in self.text_backs[caller.phone]
        ):
            reason = "in touch in the last day"
        if reason:
            outreach.state, outreach.state_reason = Outreach.State.SKIPPED, reason
            return
        self.text_backs[caller.phone].append(call.missed_at)

        upcoming = None
        if caller.patient is not None:
            upcoming = next(
                (
                    visit
                    for visit in sorted(self.visits[caller.patient.pk], key=lambda v: v.starts_at)
                    if call.missed_at <= visit.starts_at <= call.missed_at + timedelta(hours=48)
                    and visit.booked_at(call.missed_at)
                ),
                None,
            )
        if upcoming is not None:
            outreach.template_key = "missed_call_upcoming_visit"
            outreach.body = self._text(
                "missed_call_upcoming_visit",
                first_name=caller.patient.first_name,
                service=upcoming.service_name,
                when=_when(upcoming.starts_at.astimezone(upcoming.location.zone)),
            )
        else:
            outreach.template_key = "missed_call_textback"

        ready = call.missed_at + timedelta(seconds=self.rng.uniform(1.5, 7))
        allowed = self._quiet_hours_end(ready, caller.phone, call.location)
        if allowed >= self.now:
            outreach.state, outreach.state_reason = Outreach.State.PENDING, "waiting out quiet hours"
            outreach.due_at = allowed
            return
        sent = ready if allowed == ready else self._swept(allowed)
        outreach.due_at = allowed  # a deferred row waits with its due time moved to the end of quiet hours
        campaign = self.campaign if call.campaign_id else None
        thread = self._thread(caller.phone, call.location, caller.patient, sent, campaign=campaign)
        body = outreach.body or self._text(outreach.template_key)
        self._send(outreach, thread, sent, body)
        if upcoming is None:
            self._lead(call, thread, sent)

    # A lead's conversation, as the receptionist would hold it.

    def _lead(self, call: Call, thread: Conversation, texted_at: datetime) -> None:
        rng = self.rng
        location = call.location
        patient = thread.patient
        rate = REPLY_RATE["campaign" if call.campaign_id else "patient" if patient else "new"]
        if rng.random() >= rate:
            return
        at = texted_at + _minutes(rng, 9, 1.1, 0.4, 480)
        if at >= self.now:
            return
        if rng.random() < 0.02:
            self._stop(thread, at)
            return
        if patient is None:  # the first message from a number makes a patient record, as live
            patient = self._new_patient(thread.phone, location, at)
            thread.patient = patient
        menu = CAMPAIGN_MENU if call.campaign_id else LEAD_MENU.get(location.slug, {})
        menu = {slug: weight for slug, weight in menu.items() if slug in self.services} or {
            slug: 1 for slug in self.services if slug != getattr(self.consultation, "slug", None)
        }
        service = self.services[_weighted(rng, menu)]
        word = rng.choice(SERVICE_WORDS.get(service.slug, [service.name]))
        roll = rng.random()
        if roll < 0.06 and self.answers:
            question, topic = rng.choice(OTHER_QUESTIONS)
            self._inbound(thread, at, question, location)
            self._reply(
                thread, at, self.answers.get(topic) or next(iter(self.answers.values())), purpose=APPROVED_ANSWER
            )
            return
        thread.state = Conversation.State.QUALIFYING
        glow = {"service": service.slug}
        if roll < 0.2 and service.price_range_text:
            self._inbound(thread, at, rng.choice(PRICE_QUESTIONS).format(word=word), location)
            consult = " New patients start with a consultation." if service.consultation_required_for_new else ""
            at = self._reply(
                thread,
                at,
                f"{service.name} at {self.practice.brand_name} is {service.price_range_text}; your provider confirms "
                f"the exact amount at your visit.{consult} Want me to find you a time?",
            )
            if rng.random() < 0.45:
                return
            at += _minutes(rng, 4, 1.0, 0.3, 240)
            if at >= self.now:
                return
            self._inbound(thread, at, rng.choice(["Yes please", "Sure!", "Yes"]), location)
        else:
            replies = CAMPAIGN_REPLIES + FIRST_REPLIES[:3] if call.campaign_id else FIRST_REPLIES
            self._inbound(thread, at, rng.choice(replies).format(word=word), location)
        new = self._is_new(patient, at)
        questions = [
            (
                f"Which location works best for you: {' or '.join(sorted(x.name for x in self.locations.values()))}?",
                location.name.split()[0],
            )
        ]
        if not patient.is_returning:
            questions.append(
                (
                    f"Have you been to {self.practice.brand_name} before?",
                    "No, first time" if new else "Yes I've been there before",
                )
            )
        questions.append(("What days or times work best for you?", rng.choice(WINDOW_ANSWERS)))
        qualifies = rng.random() < QUALIFY_RATE
        answered = len(questions) if qualifies else rng.randrange(len(questions))
        times = {"asap": True}
        for index, (question, answer) in enumerate(questions):
            at = self._reply(thread, at, question)
            if index >= answered:
                return
            at += _minutes(rng, 3, 1.0, 0.3, 240)
            if at >= self.now:
                return
            _, understanding = self._inbound(thread, at, answer, location)
            if not understanding.times.is_empty():
                times = understanding.times.__dict__
        glow.update({"location": location.slug, "new_patient": new, "times": times})
        thread.context = {**thread.context, "glow": glow}
        thread.priority = Decimal(rng.choice(["3.8", "4.0", "4.3", "4.5", "4.8", "5.0"]))

        to_book = self.consultation if service.consultation_required_for_new and new and self.consultation else service
        at += timedelta(seconds=rng.uniform(2, 4))
        slots = self._offers(to_book, location, patient, at, times)
        if not slots:
            self._reply(
                thread,
                at,
                f"I don't see an open {to_book.name} time in the next few weeks. I've asked our team to call you "
                "with options.",
            )
            return
        consult = f"New patients start with a quick {to_book.name.lower()} first. " if to_book != service else ""
        options = " ".join(f"{index}) {_when(slot.start)}" for index, slot in enumerate(slots, start=1))
        at = self._reply(thread, at, f"{consult}I have {options}. Reply 1, 2 or 3 to book.", purpose=TIMES_OFFERED)
        thread.state = Conversation.State.OFFERING
        if rng.random() >= BOOK_RATE:
            return
        at += _minutes(rng, 5, 1.0, 0.3, 180)
        # A time that is now inside the minimum notice would be refused at booking: people pick another.
        notice = timedelta(minutes=self.practice.min_notice_minutes)
        still_open = [index for index, slot in enumerate(slots, start=1) if slot.start >= at + notice]
        if at >= self.now or not still_open:
            return
        choice = rng.choices(still_open, weights=[50, 30, 20][: len(still_open)])[0]
        self._inbound(thread, at, rng.choice(CHOICE_REPLIES[choice]), location, offered=[s.start for s in slots])
        self._book(thread, slots[choice - 1], to_book, patient, at + timedelta(seconds=rng.uniform(1, 3)), call)

    def _offers(self, service: Service, location: Location, patient: Patient, at: datetime, times: dict) -> list[Slot]:
        """What the dialogue offers: the first open time on each of the next three days that suit the
        patient's times, widened to any time when fewer than three do, as the engine saw it then."""
        preferences, first_day = _preferences(times)
        start = max(at, datetime.combine(first_day, time.min, location.zone)) if first_day else at
        search = {"service": service, "days": 3, "location": location, "now": at}
        slots = first_choices(**search, start=start, end=start + timedelta(days=14), preferences=preferences)
        if len(slots) < 3:
            days = {slot.start.date() for slot in slots}
            more = first_choices(**search, start=at, end=at + timedelta(days=14))
            slots = sorted(slots + [slot for slot in more if slot.start.date() not in days], key=lambda s: s.start)[:3]
        own = [visit for visit in self.visits[patient.pk] if visit.booked_at(at)]
        return [s for s in slots if not any(v.starts_at < s.end and s.start < v.ends_at for v in own)]

    def _book(
        self, thread: Conversation, slot: Slot, service: Service, patient: Patient, at: datetime, call: Call
    ) -> None:
        """The visit on the chosen time, with what became of it: reminders, a confirmation, a show,
        a no-show or a cancellation, each at a time that fits the others."""
        rng = self.rng
        location = self.locations[slot.location_id]
        when = _when(slot.start)
        fields = {"status": Appointment.Status.BOOKED}
        if slot.start < self.now:
            roll = rng.random()
            if roll < 0.1:
                latest = slot.start - timedelta(hours=2)
                earliest = min(at + timedelta(hours=1), latest)
                fields = {
                    "status": Appointment.Status.CANCELLED,
                    "cancellation_reason": _weighted(rng, dict(CANCEL_REASONS)),
                    "cancelled_at": earliest + (latest - earliest) * rng.random(),
                }
            elif roll < 0.18:
                fields = {"status": Appointment.Status.NO_SHOW}
            else:
                done = slot.end + timedelta(minutes=rng.uniform(0, 10))
                fields = {
                    "status": Appointment.Status.COMPLETED if done < self.now else Appointment.Status.CHECKED_IN,
                    "checked_in_at": slot.start - timedelta(minutes=rng.uniform(0, 12)),
                    "completed_at": done if done < self.now else None,
                }
        cancelled_at = fields.get("cancelled_at")

        # Reminders are queued at booking and go out with the every-minute sweep, after quiet hours.
        reminders = []
        for key, before in (("reminder_48h", timedelta(hours=48)), ("reminder_2h", timedelta(hours=2))):
            due = slot.start - before
            if due > at:  # booked inside the window: no reminder, as live
                allowed = self._quiet_hours_end(due, thread.phone, location)
                reminders.append((key, due, allowed, self._swept(allowed)))
        # Most answer the first reminder with "Y" (the 2-hour one asks for nothing, but a "Y" still confirms).
        first_sent = min((sent for _, _, _, sent in reminders), default=None)
        confirmed_at = None
        rate = 0.3 if fields["status"] == Appointment.Status.NO_SHOW else CONFIRM_RATE
        if first_sent is not None and cancelled_at is None and rng.random() < rate:
            replied = first_sent + _minutes(rng, 20, 1.1, 1, 600)
            if replied < min(self.now, slot.start - timedelta(minutes=15)):
                confirmed_at = replied
                if fields["status"] == Appointment.Status.BOOKED:
                    fields["status"] = Appointment.Status.CONFIRMED

        appointment = Appointment.objects.create(
            practice=self.practice,
            location=location,
            patient=patient,
            service=service,
            provider_id=slot.provider_id,
            resource_id=slot.resource_id,
            resource_unit=slot.resource_unit,
            starts_at=slot.start,
            ends_at=slot.end,
            blocks_until=slot.end + timedelta(minutes=service.buffer_after_minutes),
            source=Appointment.Source.SMS,
            campaign_id=call.campaign_id,
            value=service.expected_value if service.expected_value is not None else FALLBACK_VALUE[service.category],
            created_at=at,
            # Confirmed when the receptionist's answer to "Y" went out, seconds after it.
            confirmed_at=confirmed_at + timedelta(seconds=rng.uniform(2, 5)) if confirmed_at else None,
            **fields,
        )
        self.visits[patient.pk].append(self._visit(appointment))
        details = {"service": service.name, "when": when, "location": location.name}
        self._reply(
            thread,
            at,
            self._text(
                "appointment_confirmation",
                **{**details, "location": f"{location.name}, {location.address}"},
                prep=service.prep_instructions,
            ),
        )
        thread.state = Conversation.State.BOOKED
        thread.context = {**thread.context, "appointment": appointment.pk}

        for key, due, allowed, sent in reminders:
            outreach = Outreach(
                practice=self.practice,
                kind=Outreach.Kind.REMINDER,
                template_key=key,
                phone=thread.phone,
                patient=patient,
                location=location,
                conversation=thread,
                appointment=appointment,
                automated=True,
                created_at=at,
                due_at=allowed,
                body=self._text(key, **details, when_time=slot.start.strftime("%-I:%M %p")),
            )
            self.outreach.append(outreach)
            if cancelled_at is not None and cancelled_at <= sent:
                by_text = fields.get("cancellation_reason") == "Cancelled by text"
                outreach.state = Outreach.State.CANCELLED
                outreach.state_reason = "visit cancelled" if by_text else "visit no longer booked"
            elif sent >= self.now:
                if allowed > due and due <= self.now:
                    outreach.state_reason = "waiting out quiet hours"
                else:
                    outreach.due_at = due  # not due yet: quiet hours are checked when it is
            else:
                self._send(outreach, thread, sent, outreach.body)
        if confirmed_at is not None:
            self._inbound(thread, confirmed_at, rng.choice(CONFIRM_REPLIES), location)
            self._reply(thread, confirmed_at, f"Thanks, you're confirmed for {service.name} on {when}. See you then!")
        if fields.get("cancellation_reason") == "Cancelled by text":
            self._inbound(thread, cancelled_at - timedelta(seconds=3), "C", location)
            self._reply(
                thread,
                cancelled_at - timedelta(seconds=1),
                f"Done: your {service.name} on {when} is cancelled. Reply anytime to book again.",
            )
            thread.state = Conversation.State.CLOSED

    def _stop(self, thread: Conversation, at: datetime) -> None:
        """The patient texts STOP: consent recorded first, the one confirmation the rules allow."""
        message, _ = self._inbound(thread, at, "STOP", thread.location)
        self._record_opt_out(thread.phone, at, evidence=message.provider_sid)
        outreach = Outreach(
            practice=self.practice,
            kind=Outreach.Kind.CONSENT,
            template_key="opt_out_confirmation",
            phone=thread.phone,
            conversation=thread,
            location=thread.location,
            patient=thread.patient,
            automated=False,
            created_at=at,
            due_at=at,
        )
        self.outreach.append(outreach)
        self._send(outreach, thread, at + timedelta(seconds=self.rng.uniform(1, 3)), self._text("opt_out_confirmation"))
        thread.state = Conversation.State.CLOSED

    # Escalations.

    def _escalation(self, at: datetime, location: Location, category: str) -> None:
        rng = self.rng
        patient = self._escalating_patient(at, location, category)
        if patient is None:
            return
        home = self.locations.get(patient.home_location_id, location)
        thread = self._thread(patient.phone, home, patient, at)
        text = rng.choice(ESCALATIONS[category])
        message, understanding = self._inbound(thread, at, text, home)
        category = understanding.escalation or category  # what the rules read in the words, as live
        said = _reply_text(message, category)
        created = at + timedelta(seconds=rng.uniform(1, 2))
        self._reply(thread, created, said)
        if category in (Escalation.Category.EMERGENCY, Escalation.Category.HUMAN_REQUEST):
            thread.state = Conversation.State.HANDED_OFF
        summary = {
            "name": patient.full_name,
            "phone": patient.phone,
            "new_or_returning": "returning" if patient.is_returning else "new or unknown",
            "location": home.name,
            "callback_time": "as soon as possible",
            "service_interest": understanding.service or "",
            "context": "active member" if patient.pk in self.members else "",
            "question": QUESTIONS.get(category, ""),
            "exact_words": text,
            "receptionist_said": said,
            "not_promised": NOT_PROMISED,
        }
        escalation = Escalation(
            practice=self.practice,
            patient=patient,
            conversation=thread,
            source_message=message,
            category=category,
            priority=PRIORITY[category],
            reasons=understanding.reasons,
            summary={name: summary.get(name, "") for name in SUMMARY_FIELDS},
            sla_due_at=created + SLA[category],
            created_at=created,
        )
        self.escalations.append(escalation)
        if created >= self.now - timedelta(hours=2):
            return  # the last couple of hours: still waiting in the queue
        median, spread = CLAIM_MINUTES[category]
        claimed = created + _minutes(rng, median, spread, 0.3, 600)
        if category != Escalation.Category.EMERGENCY and not self._is_open(home, created):
            claimed = self._next_opening(home, created) + _minutes(rng, 12, 0.6, 2, 90)
        if claimed >= self.now:
            return
        escalation.status, escalation.claimed_by, escalation.claimed_at = (
            Escalation.Status.CLAIMED,
            self.front_desk,
            claimed,
        )
        resolved = claimed + _minutes(rng, 25, 0.9, 3, 600)
        if resolved < self.now - timedelta(hours=1):
            escalation.status, escalation.resolved_at = Escalation.Status.RESOLVED, resolved
            escalation.resolution_note = rng.choice(RESOLUTIONS[category])
            if thread.state == Conversation.State.HANDED_OFF:  # staff hand the thread back, fresh
                thread.state, thread.context = Conversation.State.GREETING, {}

    def _escalating_patient(self, at: datetime, location: Location, category: str) -> Patient | None:
        """Worries after a treatment come from someone treated in the last ten days; the rest from anyone."""
        here = [p for p in self.patients if (p.home_location_id or location.pk) == location.pk] or self.patients
        if category in (Escalation.Category.EMERGENCY, Escalation.Category.CLINICAL, Escalation.Category.COMPLAINT):
            treated = [
                p
                for p in here
                if any(
                    v.status == Appointment.Status.COMPLETED and at - timedelta(days=10) <= v.ends_at < at
                    for v in self.visits[p.pk]
                )
            ]
            here = treated or here
        here = [p for p in here if p.phone not in self.opted_out]
        return self.rng.choice(here) if here else None

    # Threads and messages.

    def _thread(
        self, phone: str, location: Location, patient: Patient | None, at: datetime, *, campaign=None
    ) -> Conversation:
        thread = self.threads.get(phone)
        if thread is None:
            thread = Conversation(
                practice=self.practice,
                phone=phone,
                channel=Channel.SMS,
                patient=patient,
                location=location,
                practice_number=(self.main_lines.get(location.pk) or next(iter(self.main_lines.values()))).number,
                context={},
                created_at=at,
            )
            self.threads[phone] = thread
        elif patient is not None and thread.patient is None:
            thread.patient = patient
        if campaign is not None:
            thread.context = {**thread.context, "campaign": campaign.source_code}
        return thread

    def _send(self, outreach: Outreach, thread: Conversation, at: datetime, body: str) -> Message:
        """An outbound message as outreach_send records it: named, with the opt-out hint on a thread's first."""
        first = thread.phone not in self.texted
        self.texted.add(thread.phone)
        if self.practice.brand_name.lower() not in body.lower():
            body = f"{self.practice.brand_name}: {body}"
        if first and outreach.kind != Outreach.Kind.CONSENT and "STOP" not in body:
            body = f"{body} {self._text('opt_out_hint')}"
        message = self._message(
            thread,
            at,
            direction=Message.Direction.OUTBOUND,
            sender=Message.Sender.RECEPTIONIST,
            kind=outreach.purpose or outreach.template_key or outreach.kind,
            body=body,
            status="delivered",
            sent_at=at + timedelta(seconds=self.rng.uniform(0.2, 0.9)),
        )
        outreach.conversation = thread
        outreach.state, outreach.state_reason = Outreach.State.SENT, ""
        outreach.attempts, outreach.claimed_at, outreach.message = 1, at, message
        thread.last_outbound_at = max(filter(None, [thread.last_outbound_at, message.sent_at]))
        return message

    def _reply(self, thread: Conversation, after: datetime, body: str, *, purpose: str = "") -> datetime:
        """The receptionist's answer a few seconds after `after`; returns when it went out."""
        at = after + timedelta(seconds=self.rng.uniform(2, 5))
        outreach = Outreach(
            practice=self.practice,
            kind=Outreach.Kind.REPLY,
            purpose=purpose,
            body=body,
            phone=thread.phone,
            patient=thread.patient,
            location=thread.location,
            conversation=thread,
            created_at=at,
            due_at=at,
        )
        self.outreach.append(outreach)
        return self._send(outreach, thread, at, body).sent_at

    def _inbound(
        self, thread: Conversation, at: datetime, body: str, location: Location, *, offered: list | None = None
    ) -> tuple[Message, Understanding]:
        understanding = self._understand(body, at, location, offered)
        message = self._message(
            thread,
            at,
            direction=Message.Direction.INBOUND,
            sender=Message.Sender.PATIENT,
            body=body,
            status="received",
            intent=understanding.intent,
            extracted=understanding.as_dict(),
            processed_at=at + timedelta(seconds=self.rng.uniform(0.5, 2)),
        )
        thread.last_inbound_at = max(filter(None, [thread.last_inbound_at, at]))
        return message, understanding

    def _understand(self, body: str, at: datetime, location: Location, offered: list | None) -> Understanding:
        """The receptionist's reading of the words. Words that name no time read the same on any day, so
        those readings are kept (the understander is the slow part of the seed)."""
        key = (body, offered is not None)
        understanding = self.readings.get(key)
        if understanding is None:
            understanding = self.understander.understand(
                body, menu=self.menu, now=at, zone=location.zone, offered=offered, locations=self.location_words
            )
            if understanding.times.is_empty():
                self.readings[key] = understanding
        return understanding

    def _message(self, thread: Conversation, at: datetime, **fields) -> Message:
        self.sids += 1
        message = Message(
            practice=self.practice,
            conversation=thread,
            channel=Channel.SMS,
            provider_sid=f"SMdemo{self.sids:028d}",
            created_at=at,
            **fields,
        )
        self.messages.append(message)
        self.touches[thread.phone].append(at)
        return message

    def _text(self, key: str, **context) -> str:
        return render(self.wording[key], {"brand": self.practice.brand_name, **context})

    # Patients, hours and quiet hours.

    def _new_patient(self, phone: str, location: Location, at: datetime) -> Patient:
        rng = self.rng
        first = rng.choice(FIRST_NAMES + ["Hannah", "Chloe", "Madison", "Alexis", "Jasmine", "Talia", "Renee"])
        last = rng.choice(LAST_NAMES + ["Reyes", "Morgan", "Shah", "Cohen", "Bishop", "Ortiz", "Nash"])
        patient = Patient.objects.create(
            practice=self.practice,
            phone=phone,
            first_name=first,
            last_name=last,
            home_location=location,
            created_at=at,
        )
        self.patients.append(patient)
        self.patient_by_phone[phone] = patient
        return patient

    def _is_new(self, patient: Patient, at: datetime) -> bool:
        if patient.is_returning:
            return False
        return not any(v.status == Appointment.Status.COMPLETED and v.ends_at < at for v in self.visits[patient.pk])

    def _visit(self, appointment: Appointment) -> _Visit:
        return _Visit(
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            status=appointment.status,
            cancelled_at=appointment.cancelled_at,
            service_name=appointment.service.name,
            location=self.locations.get(appointment.location_id) or appointment.location,
        )

    def _closed_by_closure(self, location: Location, local: datetime) -> bool:
        for closure in self.closures:
            if closure.location_id not in (None, location.pk):
                continue
            if closure.starts_on <= local.date() <= closure.ends_on and (
                closure.from_time is None or closure.from_time <= local.time() < closure.to_time
            ):
                return True
        return False

    def _is_open(self, location: Location, at: datetime) -> bool:
        """practices.selectors.location_is_open, over rows already in memory."""
        local = at.astimezone(location.zone)
        wall = local.time()
        if not any(opens <= wall < closes for opens, closes in self.hours[location.pk, local.weekday()]):
            return False
        return not self._closed_by_closure(location, local)

    def _next_opening(self, location: Location, at: datetime) -> datetime:
        local = at.astimezone(location.zone)
        for offset in range(8):
            day: date = local.date() + timedelta(days=offset)
            for opens, _ in sorted(self.hours[location.pk, day.weekday()]):
                start = datetime.combine(day, opens, location.zone)
                if start > local and not self._closed_by_closure(location, start):
                    return start.astimezone(UTC)
        return at + timedelta(hours=12)

    def _quiet_hours_end(self, ready: datetime, phone: str, location: Location) -> datetime:
        """`ready`, or when quiet hours end in the patient's zone: automated messages wait, as live."""
        key = (phone, location.time_zone)
        if key not in self.zones:
            self.zones[key] = patient_zone(phone=phone, location_zone=location.zone)
        practice = self.practice
        return next_allowed(
            ready, zone=self.zones[key], quiet_start=practice.quiet_hours_start, quiet_end=practice.quiet_hours_end
        )

    def _swept(self, due: datetime) -> datetime:
        """When the every-minute sweep picks up a row that came due at `due`."""
        return due + timedelta(seconds=self.rng.uniform(3, 58))

    # Writing it all down.

    def _save(self) -> None:
        Call.objects.bulk_create(self.calls, batch_size=500)
        Conversation.objects.bulk_create(self.threads.values(), batch_size=500)
        Message.objects.bulk_create(self.messages, batch_size=500)
        Outreach.objects.bulk_create(self.outreach, batch_size=500)
        Escalation.objects.bulk_create(self.escalations, batch_size=500)
        treated = {
            patient_id
            for patient_id, visits in self.visits.items()
            if any(v.status == Appointment.Status.COMPLETED for v in visits)
        }
        Patient.objects.filter(pk__in=treated, is_returning=False).update(is_returning=True)
