"""The demo practice, Glow Aesthetics: two locations, four providers, a real menu.

Every row is found by its natural key and updated in place, so running the seed again changes
nothing (ids included). Later features add their demo rows through `DEMO_EXTENSIONS`.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import (
    ApprovedAnswer,
    BusinessHours,
    Campaign,
    Closure,
    IntakeAcknowledgement,
    Location,
    Membership,
    Patient,
    PhoneNumber,
    Practice,
    Provider,
    ProviderShift,
    Resource,
    Service,
    StaffMember,
)
from .roles import staff_member_sync_access

DEMO_SLUG = "demo"


def upsert(model, *, defaults: dict | None = None, create_only: dict | None = None, **lookup):
    """Like update_or_create, but saves only when a value differs, so a re-run touches nothing
    (not even auto_now timestamps). `create_only` values are set on a new row and never reset: what
    the demo's own history changes (a new patient who has since visited is returning)."""
    defaults = defaults or {}
    obj, created = model.objects.get_or_create(**lookup, defaults={**defaults, **(create_only or {})})
    if not created:
        changed = [name for name, value in defaults.items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, defaults[name])
            obj.save(update_fields=changed)
    return obj, created


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


DEMO_LOGINS = [
    DemoLogin("frontdesk", "glow-frontdesk-demo", StaffMember.Role.FRONT_DESK),
    DemoLogin("manager", "glow-manager-demo", StaffMember.Role.MANAGER),
    DemoLogin("nurse", "glow-nurse-demo", StaffMember.Role.CLINICAL),
]

# Usual days until the next visit, offered at checkout for services outside a series.
RETURN_INTERVALS = {"botox": 90, "dysport": 90, "lip-filler": 180, "cheek-filler": 270, "hydrafacial": 30}
# The nurse takes warm transfers of clinical questions on this (fictional) line.
STAFF_PHONES = {"nurse": "+12125550150"}

# What a typical visit brings in, for revenue figures (tox is priced per unit, so it needs one).
VISIT_VALUES = {
    "botox": "420",
    "dysport": "380",
    "lip-filler": "750",
    "cheek-filler": "850",
    "hydrafacial": "225",
    "chemical-peel": "175",
    "microneedling": "375",
    "morpheus8": "950",
    "laser-hair-removal": "300",
    "ipl-photofacial": "400",
    "coolsculpting": "1500",
    "consultation": "0",
}

# (slug, name, category, minutes, buffer, price_min, price_max, unit, consult first, synonyms, prep, aftercare, cues)
MENU = [
    (
        "botox",
        "Botox",
        "neuromodulator",
        30,
        10,
        "12",
        "15",
        "per unit",
        True,
        ["tox", "wrinkle relaxer", "neurotoxin", "baby botox", "forehead lines", "crows feet", "frown lines", "bótox"],
        "Avoid blood thinners, fish oil and alcohol for 24 hours before if your doctor allows. Arrive 15 minutes early.",
        "Stay upright for 4 hours and skip workouts until tomorrow.",
        ["pregnant", "nursing", "blood thinner"],
    ),
    (
        "dysport",
        "Dysport",
        "neuromodulator",
        30,
        10,
        "4",
        "5",
        "per unit",
        True,
        ["dysport", "dysport injections"],
        "Avoid blood thinners and alcohol for 24 hours before if your doctor allows. Arrive 15 minutes early.",
        "Stay upright for 4 hours; no massage of the area.",
        ["pregnant", "nursing"],
    ),
    (
        "lip-filler",
        "Lip filler",
        "filler",
        45,
        15,
        "650",
        "850",
        "per syringe",
        True,
        ["lip filler", "lip fillers", "lip injections", "lips", "juvederm lips", "relleno de labios", "labios"],
        "Avoid blood thinners for a week if your doctor allows. Tell us about cold sores. Arrive 15 minutes early.",
        "Ice gently, no kissing or straws for 24 hours.",
        ["pregnant", "cold sore", "blood thinner"],
    ),
    (
        "cheek-filler",
        "Cheek filler",
        "filler",
        45,
        15,
        "750",
        "900",
        "per syringe",
        True,
        ["cheek filler", "cheeks", "voluma", "midface filler", "relleno de pómulos"],
        "Avoid blood thinners for a week if your doctor allows. Arrive 15 minutes early.",
        "Sleep on your back for two nights.",
        ["pregnant", "blood thinner"],
    ),
    (
        "hydrafacial",
        "HydraFacial",
        "skin",
        60,
        15,
        "199",
        "299",
        "",
        False,
        ["hydra facial", "hydrafacial", "facial", "hidrafacial"],
        "Skip retinol for 3 days before. Come with a clean face if you can.",
        "Wear SPF and skip exfoliants for 48 hours.",
        ["accutane"],
    ),
    (
        "chemical-peel",
        "Chemical peel",
        "skin",
        45,
        15,
        "150",
        "350",
        "",
        False,
        ["peel", "chemical peel", "vi peel", "peeling químico"],
        "Stop retinol 5 days before. No waxing the area for a week.",
        "No picking; SPF daily; expect peeling for 3 to 5 days.",
        ["accutane", "pregnant"],
    ),
    (
        "microneedling",
        "Microneedling",
        "skin",
        60,
        15,
        "300",
        "450",
        "",
        False,
        ["micro needling", "microneedle", "collagen induction", "skinpen", "microagujas"],
        "Stop retinol 5 days before. No sunburn on the area.",
        "No makeup for 24 hours; gentle cleanser only.",
        ["accutane", "active acne"],
    ),
    (
        "morpheus8",
        "Morpheus8",
        "skin",
        90,
        15,
        "900",
        "1500",
        "",
        True,
        ["morpheus", "morpheus 8", "rf microneedling", "radiofrequency microneedling"],
        "Stop retinol a week before. Numbing cream is applied at the visit: arrive 45 minutes early.",
        "Expect redness for 2 to 3 days; SPF daily.",
        ["pacemaker", "pregnant", "accutane"],
    ),
    (
        "laser-hair-removal",
        "Laser hair removal",
        "laser",
        30,
        10,
        "99",
        "450",
        "per area",
        True,
        ["laser hair", "lhr", "hair removal", "laser", "depilación láser", "depilacion laser"],
        "Shave the area the day before; no waxing or sun for 4 weeks.",
        "No sun or hot showers for 24 hours.",
        ["tan", "pregnant", "photosensitive"],
    ),
    (
        "ipl-photofacial",
        "IPL photofacial",
        "laser",
        45,
        15,
        "350",
        "500",
        "",
        True,
        ["ipl", "photofacial", "photo facial", "sun spots", "fotofacial"],
        "No sun or self-tanner for 2 weeks before.",
        "SPF daily; dark spots flake off within a week.",
        ["tan", "pregnant", "photosensitive"],
    ),
    (
        "coolsculpting",
        "CoolSculpting",
        "body",
        60,
        15,
        "750",
        "1500",
        "per area",
        True,
        ["cool sculpting", "coolsculpt", "fat freezing", "cryolipolysis", "congelación de grasa"],
        "Wear comfortable clothes; eat a light meal before.",
        "Massage the area as shown; expect numbness.",
        ["hernia", "pregnant", "cryoglobulinemia"],
    ),
    (
        "consultation",
        "Consultation",
        "consultation",
        30,
        0,
        "0",
        "0",
        "",
        False,
        ["consult", "consultation", "first visit", "evaluation", "consulta"],
        "Bring a list of your medications and any photos of results you like.",
        "",
        [],
    ),
]

PROVIDERS = [
    # (first, last, credential, location slugs, service slugs, {location: [(weekday, start, end)]})
    (
        "Maya",
        "Chen",
        "md",
        ["midtown", "scottsdale"],
        ["botox", "dysport", "lip-filler", "cheek-filler", "morpheus8", "consultation"],
        {
            "midtown": [(0, "10:00", "18:00"), (1, "09:00", "17:00"), (3, "11:00", "19:00")],
            "scottsdale": [(2, "08:00", "17:00"), (4, "08:00", "16:00")],
        },
    ),
    (
        "Sofia",
        "Alvarez",
        "np",
        ["midtown"],
        ["botox", "dysport", "lip-filler", "cheek-filler", "microneedling", "consultation"],
        {"midtown": [(1, "12:00", "19:00"), (2, "09:00", "19:00"), (4, "09:00", "19:00"), (5, "09:00", "15:00")]},
    ),
    (
        "Jordan",
        "Reed",
        "rn",
        ["midtown"],
        ["botox", "laser-hair-removal", "ipl-photofacial", "coolsculpting", "consultation"],
        {"midtown": [(0, "10:00", "18:00"), (2, "09:00", "19:00"), (3, "09:00", "19:00"), (5, "09:00", "15:00")]},
    ),
    (
        "Ava",
        "Patel",
        "aesthetician",
        ["scottsdale"],
        ["hydrafacial", "chemical-peel", "microneedling"],
        {
            "scottsdale": [
                (0, "08:00", "17:00"),
                (1, "08:00", "17:00"),
                (2, "08:00", "17:00"),
                (3, "08:00", "17:00"),
                (5, "09:00", "13:00"),
            ]
        },
    ),
]

HOURS = {
    "midtown": [(0, "10:00", "18:00")]
    + [(day, "09:00", "12:30") for day in (1, 2, 3, 4)]
    + [(day, "13:00", "19:00") for day in (1, 2, 3, 4)]
    + [(5, "09:00", "15:00")],
    "scottsdale": [(day, "08:00", "17:00") for day in range(5)] + [(5, "09:00", "13:00")],
}

APPROVED_ANSWERS = [
    (
        "cancellation-policy",
        "Cancellation policy",
        ["what is your cancellation policy", "can I cancel", "cancellation fee", "late cancel"],
        "We ask for 24 hours' notice to cancel or reschedule. Cancellations with less notice, and missed visits, "
        "have a $50 fee.",
    ),
    (
        "deposit",
        "Deposits",
        ["do I need a deposit", "deposit", "do you take a deposit to book"],
        "New patients leave a $50 deposit to hold a visit; it goes toward your treatment.",
    ),
    (
        "parking",
        "Parking",
        ["where do I park", "parking", "is there parking"],
        "Midtown: validated parking at the garage on West 56th St. Scottsdale: free parking in front of the building.",
    ),
    (
        "financing",
        "Financing",
        ["do you offer financing", "payment plans", "cherry", "care credit", "pay over time"],
        "We offer monthly payment plans through Cherry and CareCredit; you can apply at the front desk in minutes.",
    ),
    (
        "membership-rules",
        "Glow Club membership",
        ["membership", "glow club", "how does the membership work", "member benefits"],
        "Glow Club is $99 a month: one HydraFacial or $99 credit each month, 10% off injectables, and credits roll "
        "over for 3 months. Cancel anytime after 3 months with 30 days' notice.",
    ),
]

# What a new patient ticks on the intake form (booking/intake.py), in this order.
INTAKE_ACKNOWLEDGEMENTS = [
    (
        "Consent to treatment",
        "I agree to the treatment my provider recommends after we talk through its benefits, risks and "
        "alternatives, and I will tell them about any change in my health before it starts.",
    ),
    (
        "Photos",
        "Before-and-after photos are part of my medical record. They are never shared or posted without my "
        "separate written consent.",
    ),
    (
        "Cancellation policy",
        "I will give at least 24 hours' notice to cancel or move a visit; a late cancellation or missed visit may "
        "carry a $50 fee.",
    ),
]


def _t(text: str) -> time:
    return datetime.strptime(text, "%H:%M").time()


def _thanksgiving(year: int) -> date:
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=3)


@transaction.atomic
def seed_demo() -> Practice:
    practice, _ = upsert(
        Practice,
        slug=DEMO_SLUG,
        defaults={
            "name": "Glow Aesthetics Medical Spa",
            "brand_name": "Glow Aesthetics",
            "time_zone": "America/New_York",
            "average_visit_value": Decimal("527.00"),
            "retention_days": 2555,
            "contact_phone": "+12125550143",
            "contact_email": "hello@glow-aesthetics.example",
            "website": "https://glow-aesthetics.example",
        },
    )
    locations = {
        "midtown": upsert(
            Location,
            practice=practice,
            slug="midtown",
            defaults={
                "name": "Midtown Manhattan",
                "address": "120 W 57th St, Suite 400, New York, NY 10019",
                "time_zone": "America/New_York",
                "phone": "+12125550143",
                "parking": "Validated parking at the garage on West 56th St.",
            },
        )[0],
        "scottsdale": upsert(
            Location,
            practice=practice,
            slug="scottsdale",
            defaults={
                "name": "Scottsdale",
                "address": "7014 E Camelback Rd, Suite 210, Scottsdale, AZ 85251",
                "time_zone": "America/Phoenix",
                "phone": "+14805550123",
                "parking": "Free parking in front of the building.",
            },
            # A gradual rollout: Scottsdale's desk answers its own calls in business hours.
            create_only={"coverage_mode": Location.Coverage.AFTER_HOURS},
        )[0],
    }
    for slug, intervals in HOURS.items():
        for weekday, opens, closes in intervals:
            BusinessHours.objects.get_or_create(
                location=locations[slug], weekday=weekday, opens_at=_t(opens), closes_at=_t(closes)
            )

    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        upsert(
            Closure,
            practice=practice,
            name=f"Thanksgiving {year}",
            defaults={"location": None, "starts_on": _thanksgiving(year), "ends_on": _thanksgiving(year)},
        )
        upsert(
            Closure,
            practice=practice,
            name=f"Christmas {year}",
            defaults={"location": None, "starts_on": date(year, 12, 24), "ends_on": date(year, 12, 25)},
        )

    services = {}
    for slug, name, category, minutes, buffer, low, high, unit, consult, synonyms, prep, aftercare, cues in MENU:
        services[slug] = upsert(
            Service,
            practice=practice,
            slug=slug,
            defaults={
                "name": name,
                "category": category,
                "duration_minutes": minutes,
                "buffer_after_minutes": buffer,
                "price_min": Decimal(low),
                "price_max": Decimal(high),
                "price_unit": unit,
                "visit_value": Decimal(VISIT_VALUES[slug]),
                "return_interval_days": RETURN_INTERVALS.get(slug),
                "consultation_required_for_new": consult,
                "synonyms": synonyms,
                "prep_instructions": prep,
                "aftercare_instructions": aftercare,
                "contraindication_cues": cues,
            },
        )[0]

    for first, last, credential, location_slugs, service_slugs, shifts in PROVIDERS:
        provider, _ = upsert(
            Provider,
            practice=practice,
            first_name=first,
            last_name=last,
            defaults={"credential": credential, "email": f"{first.lower()}@glow-aesthetics.example"},
        )
        provider.locations.set([locations[slug] for slug in location_slugs])
        provider.services.set([services[slug] for slug in service_slugs])
        for location_slug, intervals in shifts.items():
            for weekday, starts, ends in intervals:
                ProviderShift.objects.get_or_create(
                    provider=provider,
                    location=locations[location_slug],
                    weekday=weekday,
                    starts_at=_t(starts),
                    ends_at=_t(ends),
                )

    resources = [
        ("Laser room", "room", "midtown", 1, ["laser-hair-removal", "ipl-photofacial"]),
        ("CoolSculpting device", "device", "midtown", 1, ["coolsculpting"]),
        ("Treatment room", "room", "scottsdale", 1, ["hydrafacial", "chemical-peel", "microneedling", "morpheus8"]),
    ]
    for name, kind, location_slug, capacity, service_slugs in resources:
        resource, _ = upsert(
            Resource,
            practice=practice,
            name=name,
            defaults={"kind": kind, "location": locations[location_slug], "capacity": capacity},
        )
        resource.services.set([services[slug] for slug in service_slugs])

    for topic, title, phrasings, answer in APPROVED_ANSWERS:
        upsert(
            ApprovedAnswer,
            practice=practice,
            topic=topic,
            defaults={"title": title, "phrasings": phrasings, "answer": answer},
        )

    for order, (title, text) in enumerate(INTAKE_ACKNOWLEDGEMENTS):
        upsert(IntakeAcknowledgement, practice=practice, title=title, defaults={"text": text, "order": order})

    campaign_day = today + timedelta(days=18)
    campaign, _ = upsert(
        Campaign,
        practice=practice,
        source_code="vip-injectables-night",
        defaults={
            "name": "VIP Injectables Night",
            "kind": Campaign.Kind.EVENT,
            "starts_on": campaign_day,
            "ends_on": campaign_day,
            "deadline": campaign_day - timedelta(days=3),
            "offer_text": "VIP Injectables Night: $2 off per unit of Botox or Dysport and $100 off any filler "
            "syringe, booked that evening. RSVP with a $50 deposit that goes toward treatment.",
            "deposit_amount": Decimal("50.00"),
        },
    )
    campaign.services.set([services[slug] for slug in ("botox", "dysport", "lip-filler", "cheek-filler")])

    upsert(
        PhoneNumber,
        number="+12125550100",
        defaults={
            "practice": practice,
            "location": locations["midtown"],
            "label": "Main line",
            "forwards_to": "+12125550143",
            "ring_timeout_seconds": 20,
            "twilio_sid": "PNdemo0000000000000000000000000001",
        },
    )
    upsert(
        PhoneNumber,
        number="+14805550199",
        defaults={
            "practice": practice,
            "location": locations["scottsdale"],
            "label": "Scottsdale line",
            "forwards_to": "+14805550123",
            "ring_timeout_seconds": 20,
            "twilio_sid": "PNdemo0000000000000000000000000002",
        },
    )

    patients = [
        ("Emma", "Rodriguez", "+12125550171", "emma.r@example.com", True, "midtown"),
        ("Olivia", "Nguyen", "+16465550188", "", True, "midtown"),
        ("Chloe", "Bennett", "+19175550134", "chloe.b@example.com", False, "midtown"),
        ("Harper", "Diaz", "+16025550111", "", True, "scottsdale"),
    ]
    for first, last, phone, email, returning, location_slug in patients:
        upsert(
            Patient,
            practice=practice,
            phone=phone,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": email,
                "home_location": locations[location_slug],
            },
            create_only={"is_returning": returning},
        )
    member = Patient.objects.get(practice=practice, phone="+12125550171")
    upsert(
        Membership,
        practice=practice,
        patient=member,
        plan="Glow Club",
        defaults={
            "monthly_price": Decimal("99.00"),
            "credits": Decimal("198.00"),
            "renews_on": date(today.year + (today.month == 12), today.month % 12 + 1, 1),
            "status": Membership.Status.ACTIVE,
            "started_on": date(today.year - 1, today.month, 1),
        },
    )

    User = get_user_model()
    names = {"frontdesk": ("Riley", "Front Desk"), "manager": ("Morgan", "Manager"), "nurse": ("Kim", "Nurse Injector")}
    for login in DEMO_LOGINS:
        user, created = User.objects.get_or_create(username=login.username)
        user.first_name, user.last_name = names[login.username]
        user.email = f"{login.username}@glow-aesthetics.example"
        if created or not user.check_password(login.password):
            user.set_password(login.password)
        user.save()
        staff, _ = upsert(
            StaffMember,
            user=user,
            defaults={
                "practice": practice,
                "role": login.role,
                "email": user.email,
                "phone": STAFF_PHONES.get(login.username, ""),
            },
        )
        staff_member_sync_access(staff)

    for extend in DEMO_EXTENSIONS:
        extend(practice)
    return practice


# Later apps append callables taking the practice (series templates, appointments, history).
DEMO_EXTENSIONS: list = []
