"""A small practice week built by hand, with every figure known in advance (see `week`)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from booking.models import Appointment, SeriesEnrollment, SeriesTemplate
from calls.models import Call, Channel, Conversation, Message, Outreach
from escalations.models import Escalation
from practices.models import Campaign
from tests.factories import (
    AppointmentFactory,
    LocationFactory,
    PatientFactory,
    PhoneNumberFactory,
    PracticeFactory,
    ProviderFactory,
    ServiceFactory,
)

NY = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")
# Thursday 2026-12-10, noon in New York: the week of Dec 1-7 is closed and can be rolled up.
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=NY)
WEEK = (date(2026, 12, 1), date(2026, 12, 7))


def at(day: int, hour: int, minute: int = 0, second: int = 0, zone=NY) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=zone)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@dataclass
class Book:
    """Builds one practice's records the way the receptionist leaves them."""

    practice: object
    number: object
    sequence: list = field(default_factory=lambda: [0])

    def _sid(self, prefix: str) -> str:
        self.sequence[0] += 1
        return f"{prefix}{self.practice.pk:04d}{self.sequence[0]:028d}"

    def thread(self, phone: str) -> Conversation:
        conversation, _ = Conversation.objects.get_or_create(
            practice=self.practice,
            phone=phone,
            channel=Channel.SMS,
            defaults={"practice_number": self.number.number, "location": self.number.location},
        )
        return conversation

    def call(self, phone: str, started: datetime, *, missed: str = "", number=None, campaign=None) -> Call:
        number = number or self.number
        return Call.objects.create(
            practice=self.practice,
            location=number.location,
            phone_number=number,
            campaign=campaign,
            call_sid=self._sid("CA"),
            from_raw=phone,
            from_phone=phone,
            started_at=started,
            missed=bool(missed),
            missed_reason=missed,
            missed_at=started if missed else None,
            answered_by="receptionist" if missed else "staff",
            accepted_by_staff=not missed,
        )

    def text_back(self, call: Call, sent: datetime) -> Message:
        message = self.outbound(call.from_phone, sent, kind="text_back")
        Outreach.objects.create(
            practice=self.practice,
            kind=Outreach.Kind.TEXT_BACK,
            phone=call.from_phone,
            call=call,
            conversation=message.conversation,
            due_at=call.missed_at,
            state=Outreach.State.SENT,
            message=message,
        )
        return message

    def outbound(self, phone: str, sent: datetime, *, kind: str = "reply") -> Message:
        return Message.objects.create(
            practice=self.practice,
            conversation=self.thread(phone),
            direction=Message.Direction.OUTBOUND,
            channel=Channel.SMS,
            sender=Message.Sender.RECEPTIONIST,
            kind=kind,
            body="Hi from the spa",
            status="delivered",
            created_at=sent,
            sent_at=sent,
        )

    def inbound(self, phone: str, when: datetime, *, service: str = "", intent: str = "book") -> Message:
        return Message.objects.create(
            practice=self.practice,
            conversation=self.thread(phone),
            direction=Message.Direction.INBOUND,
            channel=Channel.SMS,
            sender=Message.Sender.PATIENT,
            body="Hi, I'd like to book",
            status="received",
            intent=intent,
            extracted={"service": service} if service else {},
            created_at=when,
        )

    def visit(self, phone: str, service, created: datetime, starts: datetime, status: str, **extra) -> Appointment:
        patient = self.practice.patients.filter(phone=phone).first() or PatientFactory(
            practice=self.practice, phone=phone
        )
        return AppointmentFactory(
            practice=self.practice,
            location=self.number.location,
            patient=patient,
            service=service,
            provider=ProviderFactory(practice=self.practice),
            starts_at=starts,
            status=status,
            source="sms",
            value=service.expected_value,
            created_at=created,
            **extra,
        )

    def reminder(self, visit: Appointment, sent: datetime) -> None:
        message = self.outbound(visit.patient.phone, sent, kind="reminder_48h")
        Outreach.objects.create(
            practice=self.practice,
            kind=Outreach.Kind.REMINDER,
            phone=visit.patient.phone,
            appointment=visit,
            due_at=sent,
            state=Outreach.State.SENT,
            message=message,
        )

    def escalation(self, category: str, created: datetime, claim_after: int | None, phone: str = "") -> Escalation:
        return Escalation.objects.create(
            practice=self.practice,
            conversation=self.thread(phone) if phone else None,
            category=category,
            priority=0,
            summary={"question": "q"},
            sla_due_at=created + timedelta(hours=1),
            status="claimed" if claim_after is not None else "open",
            claimed_at=created + timedelta(seconds=claim_after) if claim_after is not None else None,
            created_at=created,
        )


A, B, C, D, E, F, G = (f"+1917555{1001 + n:04d}" for n in range(7))


@pytest.fixture
def week(db):
    """One practice's week of Dec 1-7, 2026 (New York, plus a Phoenix location), and a second practice
    with look-alike rows that must never be counted. Expected figures are in test_metrics.py."""
    practice = PracticeFactory(time_zone="America/New_York", brand_name="Glow")
    manhattan = LocationFactory(practice=practice, time_zone="America/New_York")
    phoenix = LocationFactory(practice=practice, time_zone="America/Phoenix")
    spring = Campaign.objects.create(
        practice=practice,
        name="Spring glow",
        kind=Campaign.Kind.OFFER,
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 31),
        offer_text="20% off",
        source_code="spring",
    )
    main = PhoneNumberFactory(practice=practice, location=manhattan)
    tracking = PhoneNumberFactory(practice=practice, location=manhattan, campaign=spring)
    desert = PhoneNumberFactory(practice=practice, location=phoenix)
    botox = ServiceFactory(practice=practice, slug="botox", visit_value=Decimal("400"))
    filler = ServiceFactory(practice=practice, slug="lip-filler", visit_value=Decimal("700"))
    book = Book(practice=practice, number=main)

    # 1. Missed, texted in 5 s, replied about botox, offered times, booked, showed (completed).
    c1 = book.call(A, at(1, 10), missed="no_answer")
    book.text_back(c1, at(1, 10, 0, 5))
    book.inbound(A, at(1, 10, 10), service="botox")
    book.outbound(A, at(1, 10, 11), kind="times_offered")
    a1 = book.visit(A, botox, at(1, 10, 12), at(3, 14), "completed", confirmed_at=at(2, 9))
    book.reminder(a1, at(1, 14))
    # 2. Missed (busy) and never texted back.
    book.call(B, at(1, 11), missed="busy")
    # 3. Missed at 11:30 pm local (04:30 UTC on Dec 2): counts on Tuesday Dec 1. The text-back waited
    #    out quiet hours until 8:00 (30,600 s); the caller replied about lip filler but was never offered times.
    c3 = book.call(C, at(1, 23, 30), missed="after_hours")
    book.text_back(c3, at(2, 8))
    book.inbound(C, at(2, 9), service="lip-filler")
    # 4. Missed, texted in 10 s, replied, offered, booked lip filler, then cancelled.
    c4 = book.call(D, at(2, 12), missed="no_answer")
    book.text_back(c4, at(2, 12, 0, 10))
    book.inbound(D, at(2, 12, 5), service="lip-filler")
    book.outbound(D, at(2, 12, 6), kind="times_offered")
    a2 = book.visit(
        D,
        filler,
        at(2, 12, 30),
        at(5, 11),
        "cancelled",
        cancellation_reason="Schedule conflict",
        cancelled_at=at(4, 9),
    )
    book.reminder(a2, at(3, 11))
    # 5. Answered by staff, on the campaign's tracking number.
    book.call(E, at(3, 9, 15), number=tracking, campaign=spring)
    # 6. Campaign call: missed, texted in 3 s, replied, offered, booked botox, no-show.
    c6 = book.call(F, at(3, 15), missed="no_answer", number=tracking, campaign=spring)
    book.text_back(c6, at(3, 15, 0, 3))
    book.inbound(F, at(3, 15, 2))
    book.outbound(F, at(3, 15, 3), kind="times_offered")
    book.visit(F, botox, at(3, 15, 4), at(6, 10), "no_show", campaign=spring)
    # 7. The first caller misses us again; texted in 2 s, no reply. A visit booked after this second
    #    miss belongs to neither call: the first call's window ends here, and nobody replied to the second.
    c8 = book.call(A, at(4, 10), missed="no_answer")
    book.text_back(c8, at(4, 10, 0, 2))
    book.visit(A, botox, at(4, 11), at(9, 10), "booked")
    # 8. Phoenix location: missed, nobody texted.
    book.call(G, at(2, 13, zone=PHOENIX), missed="no_answer", number=desert)
    # Escalations: two clinical (claimed after 240 s and 600 s), an emergency (60 s), a complaint (open).
    book.escalation("clinical", at(2, 10), 240, phone=A)
    book.escalation("clinical", at(3, 10), 600, phone=D)
    book.escalation("emergency", at(3, 16), 60, phone=F)
    book.escalation("complaint", at(5, 10), None, phone=C)
    # Outside the week: a call on Dec 8 and one on Nov 30, 11:30 pm.
    book.call(B, at(8, 10), missed="no_answer")
    book.call(B, datetime(2026, 11, 30, 23, 30, tzinfo=NY), missed="no_answer")
    # Series: on cadence, due, late by 9 and 5 days, completed.
    template = SeriesTemplate.objects.create(
        practice=practice, name="Tox maintenance", service=botox, visits=1, interval_days=90, repeats=True
    )
    for status, until in [
        ("on_cadence", date(2027, 1, 1)),
        ("due", date(2026, 12, 20)),
        ("late", date(2026, 12, 1)),
        ("late", date(2026, 12, 5)),
        ("completed", None),
    ]:
        SeriesEnrollment.objects.create(
            practice=practice,
            patient=PatientFactory(practice=practice),
            template=template,
            status=status,
            next_due_until=until,
            started_on=date(2026, 12, 2),
        )

    # Another practice with the same phones, the same kinds of rows, on the same days.
    other = PracticeFactory(time_zone="America/New_York")
    other_book = Book(practice=other, number=PhoneNumberFactory(practice=other))
    other_botox = ServiceFactory(practice=other, slug="botox", visit_value=Decimal("999"))
    for phone in (A, B, C):
        call = other_book.call(phone, at(2, 10), missed="no_answer")
        other_book.text_back(call, at(2, 10, 0, 1))
        other_book.inbound(phone, at(2, 10, 5), service="botox")
        other_book.outbound(phone, at(2, 10, 6), kind="times_offered")
        other_book.visit(phone, other_botox, at(2, 10, 7), at(4, 10), "completed")
    other_book.escalation("clinical", at(2, 10), 30)

    return {
        "practice": practice,
        "other": other,
        "manhattan": manhattan,
        "phoenix": phoenix,
        "botox": botox,
        "filler": filler,
        "spring": spring,
    }
