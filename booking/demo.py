"""Demo calendar for Glow Aesthetics: series templates, a month of visits, enrollments on and off cadence.

Visits are placed on times the booking engine offers (as of their own day), so the demo calendar obeys
the same hours, shifts, rooms and buffers as real bookings. The month is generated once: a practice
that already has visits keeps them, so running the seed again changes nothing.
"""

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from practices.demo import upsert
from practices.models import Patient, Practice, Resource, Service

from .models import Appointment, FollowUpTask, SeriesEnrollment, SeriesTemplate, WaitlistEntry
from .selectors import open_slots

FIRST_NAMES = [
    "Ava",
    "Mia",
    "Zoe",
    "Lily",
    "Nora",
    "Ella",
    "Ruby",
    "Isla",
    "Leah",
    "Maya",
    "Aria",
    "Luna",
    "Hazel",
    "Ivy",
    "Sadie",
    "Piper",
    "Jade",
    "Tessa",
    "Naomi",
    "Gianna",
    "Camila",
    "Valeria",
    "Daniel",
    "Marcus",
    "Ethan",
    "Julian",
    "Owen",
    "Lucas",
    "Priya",
    "Anika",
    "Grace",
    "Sophie",
    "Elena",
    "Rosa",
    "Kendall",
    "Brooke",
]
LAST_NAMES = [
    "Kim",
    "Park",
    "Garcia",
    "Martinez",
    "Johnson",
    "Brown",
    "Davis",
    "Lopez",
    "Wilson",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Hill",
    "Campbell",
    "Mitchell",
    "Roberts",
    "Carter",
    "Phillips",
    "Evans",
    "Turner",
    "Torres",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart",
    "Flores",
]
CANCEL_REASONS = ["Work conflict", "Feeling sick", "Childcare fell through", "Traffic", "Budget this month"]


def seed_booking_demo(practice: Practice) -> None:
    services = {service.slug: service for service in Service.objects.filter(practice=practice)}
    laser_room = Resource.objects.filter(practice=practice, name="Laser room").first()
    templates = {
        "tox": upsert(
            SeriesTemplate,
            practice=practice,
            name="Tox maintenance",
            defaults={
                "service": services["botox"],
                "visits": 1,
                "repeats": True,
                "interval_days": 90,
                "early_days": 14,
                "late_days": 21,
                "provider_credential": "rn",
                "prep_reminder": services["botox"].prep_instructions,
                "aftercare_reminder": services["botox"].aftercare_instructions,
            },
        )[0],
        "laser": upsert(
            SeriesTemplate,
            practice=practice,
            name="Laser hair removal, 6 visits",
            defaults={
                "service": services["laser-hair-removal"],
                "visits": 6,
                "interval_days": 35,
                "early_days": 7,
                "late_days": 7,
                "resource": laser_room,
                "provider_credential": "rn",
                "prep_reminder": services["laser-hair-removal"].prep_instructions,
                "aftercare_reminder": services["laser-hair-removal"].aftercare_instructions,
            },
        )[0],
        "microneedling": upsert(
            SeriesTemplate,
            practice=practice,
            name="Microneedling, 3 visits",
            defaults={
                "service": services["microneedling"],
                "visits": 3,
                "interval_days": 28,
                "early_days": 3,
                "late_days": 7,
                "staff_review_before_next": True,
                "prep_reminder": services["microneedling"].prep_instructions,
                "aftercare_reminder": services["microneedling"].aftercare_instructions,
            },
        )[0],
    }
    if Appointment.objects.filter(practice=practice).exists():
        return

    rng = random.Random(20261122)
    locations = {location.slug: location for location in practice.locations.all()}
    # Patients the seed keeps as new (never visited) stay new: no visits for them.
    patients = list(Patient.objects.filter(practice=practice, is_returning=True))
    for index in range(36):
        patient, _ = upsert(
            Patient,
            practice=practice,
            phone=f"+1646555{3000 + index:04d}",
            defaults={
                "first_name": FIRST_NAMES[index],
                "last_name": LAST_NAMES[(index * 7) % len(LAST_NAMES)],
                "is_returning": index % 3 != 0,
                "home_location": locations["scottsdale" if index % 4 == 0 else "midtown"],
                "email": f"{FIRST_NAMES[index].lower()}{index}@example.com" if index % 2 else "",
            },
        )
        patients.append(patient)

    today = timezone.localdate()
    now = timezone.now()
    menu = [
        "botox",
        "botox",
        "dysport",
        "lip-filler",
        "hydrafacial",
        "microneedling",
        "laser-hair-removal",
        "ipl-photofacial",
        "chemical-peel",
        "morpheus8",
        "coolsculpting",
        "consultation",
    ]
    for offset in range(-21, 15):
        day = today + timedelta(days=offset)
        for _ in range(rng.randint(3, 6)):
            service = services[rng.choice(menu)]
            patient = rng.choice(patients)
            hour = rng.choice([9, 10, 11, 13, 14, 15, 16])
            for location in locations.values():
                start = datetime.combine(day, time(hour), location.zone)
                slots = open_slots(
                    service=service,
                    location=location,
                    start=start,
                    end=start + timedelta(hours=3),
                    now=start - timedelta(days=1),
                    limit=1,
                )
                if slots:
                    break
            if not slots:
                continue
            slot = slots[0]
            if slot.start < now:
                roll = rng.random()
                status = "completed" if roll < 0.82 else "no_show" if roll < 0.9 else "cancelled"
            else:
                status = "confirmed" if rng.random() < 0.4 else "booked"
            appointment = Appointment.objects.create(
                practice=practice,
                location_id=slot.location_id,
                patient=patient,
                service=service,
                provider_id=slot.provider_id,
                resource_id=slot.resource_id,
                resource_unit=slot.resource_unit,
                starts_at=slot.start,
                ends_at=slot.end,
                blocks_until=slot.end + timedelta(minutes=service.buffer_after_minutes),
                status=status,
                source=rng.choice(["sms", "voice", "staff", "staff"]),
                cancellation_reason=rng.choice(CANCEL_REASONS) if status == "cancelled" else "",
                cancelled_at=slot.start - timedelta(days=1) if status == "cancelled" else None,
                completed_at=slot.end if status == "completed" else None,
                value=service.expected_value,
                created_at=min(now, slot.start - timedelta(days=rng.randint(2, 14))),
            )
            if appointment.status == Appointment.Status.COMPLETED:
                Patient.objects.filter(pk=patient.pk).update(is_returning=True)

    # Enrollments: last visits spread so some are on cadence, some due, some late.
    plans = [
        ("tox", 1, 40),
        ("tox", 1, 80),
        ("tox", 1, 95),
        ("tox", 1, 118),
        ("tox", 1, 130),
        ("tox", 1, 60),
        ("laser", 2, 20),
        ("laser", 3, 38),
        ("laser", 1, 50),
        ("laser", 4, 33),
        ("laser", 5, 70),
        ("microneedling", 1, 12),
        ("microneedling", 2, 30),
        ("microneedling", 1, 45),
    ]
    for index, (key, visits_done, days_ago) in enumerate(plans):
        template = templates[key]
        last_visit = today - timedelta(days=days_ago)
        due_from, due_on, due_until = template.window_after(last_visit)
        if today < due_from:
            status = SeriesEnrollment.Status.ON_CADENCE
        elif today <= due_until:
            status = SeriesEnrollment.Status.DUE
        else:
            status = SeriesEnrollment.Status.LATE
        SeriesEnrollment.objects.create(
            practice=practice,
            patient=patients[(index * 5) % len(patients)],
            template=template,
            visits_done=visits_done,
            last_visit_on=last_visit,
            next_due_from=due_from,
            next_due_on=due_on,
            next_due_until=due_until,
            status=status,
            started_on=last_visit - timedelta(days=35 * (visits_done - 1)),
            last_contact_at=now - timedelta(days=3) if status == SeriesEnrollment.Status.LATE else None,
            last_contact_outcome="Texted a rebooking prompt, no reply yet" if status == "late" else "",
        )
    _series_visits(practice, rng, now)
    late = SeriesEnrollment.objects.filter(practice=practice, status=SeriesEnrollment.Status.LATE).first()
    if late is not None:
        FollowUpTask.objects.create(
            practice=practice,
            patient=late.patient,
            enrollment=late,
            kind=FollowUpTask.Kind.NOT_READY,
            due_on=today + timedelta(days=7),
            reason="Traveling until next week; call to rebook",
        )
    WaitlistEntry.objects.create(
        practice=practice,
        patient=patients[3],
        service=services["hydrafacial"],
        location=locations["scottsdale"],
        earliest_on=today,
        latest_on=today + timedelta(days=14),
        parts_of_day=["morning"],
    )


def _series_visit(enrollment: SeriesEnrollment, day, status: str, rng: random.Random, now, **extra):
    """A visit of the series on `day`, where the engine finds a free time (or none)."""
    service = enrollment.template.service
    for hour in rng.sample([9, 10, 11, 13, 14, 15, 16], 7):
        for location in enrollment.practice.locations.order_by("pk"):
            start = datetime.combine(day, time(hour), location.zone)
            slots = open_slots(
                service=service,
                location=location,
                start=start,
                end=start + timedelta(hours=1),
                now=start - timedelta(days=1),
                limit=1,
            )
            if slots:
                slot = slots[0]
                return Appointment.objects.create(
                    practice=enrollment.practice,
                    location_id=slot.location_id,
                    patient=enrollment.patient,
                    service=service,
                    provider_id=slot.provider_id,
                    resource_id=slot.resource_id,
                    resource_unit=slot.resource_unit,
                    starts_at=slot.start,
                    ends_at=slot.end,
                    blocks_until=slot.end + timedelta(minutes=service.buffer_after_minutes),
                    status=status,
                    source="staff",
                    enrollment=enrollment,
                    value=service.expected_value,
                    created_at=min(now, slot.start - timedelta(days=rng.randint(7, 30))),
                    completed_at=slot.end if status == Appointment.Status.COMPLETED else None,
                    **extra,
                )
    return None


def _series_visits(practice: Practice, rng: random.Random, now) -> None:
    """Each enrollment's last visit, where it is recent, as a completed series visit; the next visit
    booked for some of those due; a cancelled one for the weekly review's reasons."""
    for enrollment in SeriesEnrollment.objects.filter(practice=practice).select_related("template__service"):
        if enrollment.last_visit_on and (now.date() - enrollment.last_visit_on).days <= 45:
            _series_visit(enrollment, enrollment.last_visit_on, Appointment.Status.COMPLETED, rng, now)
        if enrollment.status == SeriesEnrollment.Status.DUE and rng.random() < 0.6:
            _series_visit(
                enrollment, now.date() + timedelta(days=rng.randint(2, 9)), Appointment.Status.BOOKED, rng, now
            )
        elif enrollment.status == SeriesEnrollment.Status.LATE and rng.random() < 0.5:
            day = now.date() - timedelta(days=rng.randint(1, 6))
            _series_visit(
                enrollment,
                day,
                Appointment.Status.CANCELLED,
                rng,
                now,
                cancellation_reason=rng.choice(["Feeling sick", "Work conflict", "Budget this month"]),
                cancelled_at=now - timedelta(days=8),
            )
