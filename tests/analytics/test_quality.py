"""Receptionist quality figures against a hand-built week whose answers are worked out below, then the
dashboard, the API and the CSV export over the same records, and one question through the real SMS webhook."""

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.filters import Filters
from analytics.quality import figures, rule_names
from booking.models import Appointment
from calls.models import Channel, Conversation, Message, Outreach
from escalations.models import Escalation
from escalations.services import SUMMARY_FIELDS, escalation_claim
from practices.models import ApprovedAnswer, Campaign
from tests.browser import shot, skip_without_chromium
from tests.calls.conftest import fixture, line, twilio  # noqa: F401 (fixtures)
from tests.factories import (
    AppointmentFactory,
    LocationFactory,
    PatientFactory,
    PhoneNumberFactory,
    PracticeFactory,
    ProviderFactory,
    ServiceFactory,
    StaffMemberFactory,
)

from .conftest import NY, PHOENIX, WEEK, Book, at
from .test_browser import signed_in

WEEK_QUERY = {"start": WEEK[0].isoformat(), "end": WEEK[1].isoformat()}
A, B, C, D, E, F, G = (f"+1646555{2001 + n:04d}" for n in range(7))
MANAGER_PHONE = "+12125559999"
FULL = dict.fromkeys(SUMMARY_FIELDS, "filled")


class Desk(Book):
    """Book, plus what the receptionist records when it answers and hands over."""

    def ask(self, phone: str, when: datetime, *, intent: str, service: str = "", escalation: str = "", number=None):
        """A patient's message, handled by the receptionist one second after it came in."""
        number = number or self.number
        conversation, _ = Conversation.objects.get_or_create(
            practice=self.practice,
            phone=phone,
            channel=Channel.SMS,
            defaults={"practice_number": number.number, "location": number.location},
        )
        extracted = {"service": service or None, "escalation": escalation or None}
        return Message.objects.create(
            practice=self.practice,
            conversation=conversation,
            direction=Message.Direction.INBOUND,
            channel=Channel.SMS,
            sender=Message.Sender.PATIENT,
            body="A patient's words",
            status="received",
            intent=intent,
            extracted=extracted,
            created_at=when,
            processed_at=when + timedelta(seconds=1),
        )

    def reply(self, message: Message, after: int = 2, *, purpose: str = "", kind=Outreach.Kind.REPLY) -> Message:
        """The receptionist's reply `after` seconds after the patient's message: the outreach and its message."""
        when = message.created_at + timedelta(seconds=after)
        sent = Message.objects.create(
            practice=self.practice,
            conversation=message.conversation,
            direction=Message.Direction.OUTBOUND,
            channel=Channel.SMS,
            sender=Message.Sender.RECEPTIONIST,
            kind=purpose or kind,
            body="The receptionist's words",
            status="delivered",
            created_at=when,
            sent_at=when,
        )
        Outreach.objects.create(
            practice=self.practice,
            kind=kind,
            purpose=purpose,
            phone=message.conversation.phone,
            conversation=message.conversation,
            created_at=when,
            due_at=when,
            state=Outreach.State.SENT,
            message=sent,
        )
        return sent

    def hand_over(self, message: Message, category: str, rules: str, *, summary=FULL, claim_after=None, alerts=()):
        """The escalation one second after the message (with the rules that matched), and the staff alerts
        queued with it, each sent the given seconds after the patient's message."""
        opened = message.created_at + timedelta(seconds=1)
        escalation = Escalation.objects.create(
            practice=self.practice,
            conversation=message.conversation,
            source_message=message,
            category=category,
            priority=0,
            reasons=["service: 'lips'", f"escalation: {category} ({rules})"],
            summary=summary,
            sla_due_at=opened + timedelta(hours=1),
            status="claimed" if claim_after is not None else "open",
            claimed_at=message.created_at + timedelta(seconds=claim_after) if claim_after is not None else None,
            created_at=opened,
        )
        for seconds in alerts:
            sent = Message.objects.create(
                practice=self.practice,
                conversation=self.staff_thread,
                direction=Message.Direction.OUTBOUND,
                channel=Channel.SMS,
                sender=Message.Sender.RECEPTIONIST,
                kind="staff_alert",
                body="Alert",
                status="delivered",
                created_at=message.created_at + timedelta(seconds=seconds),
                sent_at=message.created_at + timedelta(seconds=seconds),
            )
            Outreach.objects.create(
                practice=self.practice,
                kind=Outreach.Kind.STAFF_ALERT,
                phone=MANAGER_PHONE,
                created_at=opened,
                due_at=opened,
                state=Outreach.State.SENT,
                message=sent,
            )
        return escalation

    def booked(self, phone: str, service, when: datetime, *, source="sms", location=None) -> Appointment:
        patient = self.practice.patients.filter(phone=phone).first() or PatientFactory(
            practice=self.practice, phone=phone
        )
        return AppointmentFactory(
            practice=self.practice,
            location=location or self.number.location,
            patient=patient,
            service=service,
            provider=ProviderFactory(practice=self.practice),
            starts_at=when + timedelta(days=7),
            source=source,
            created_at=when,
        )

    @property
    def staff_thread(self) -> Conversation:
        return self.thread(MANAGER_PHONE)


def summary_without(*names: str) -> dict:
    return {**FULL, **dict.fromkeys(names, "")}


@pytest.fixture
def desk(db):
    """One practice's week of Dec 1-7, 2026 (New York, plus Phoenix), and a second practice whose look-alike
    rows must never count. The figures are worked out in test_the_weeks_figures_worked_out_by_hand."""
    practice = PracticeFactory(time_zone="America/New_York", brand_name="Glow")
    manhattan = LocationFactory(practice=practice, time_zone="America/New_York")
    phoenix = LocationFactory(practice=practice, time_zone="America/Phoenix")
    main = PhoneNumberFactory(practice=practice, location=manhattan)
    desert = PhoneNumberFactory(practice=practice, location=phoenix)
    spring = Campaign.objects.create(
        practice=practice,
        name="Spring glow",
        kind=Campaign.Kind.OFFER,
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 31),
        offer_text="20% off",
        source_code="spring",
    )
    tracking = PhoneNumberFactory(practice=practice, location=manhattan, campaign=spring)
    botox = ServiceFactory(practice=practice, slug="botox", visit_value=Decimal("400"))
    filler = ServiceFactory(practice=practice, slug="lip-filler", visit_value=Decimal("700"))
    manager = StaffMemberFactory(practice=practice, role="manager", phone=MANAGER_PHONE, receives_alerts=True)
    book = Desk(practice=practice, number=main)

    # A (Manhattan), Dec 1: a question answered with an approved answer, a question passed to staff,
    # then botox booked by text. Messages up to the booking: 7 (the confirmation after it is not counted).
    q1 = book.ask(A, at(1, 10), intent="question")
    book.reply(q1, purpose="approved_answer")
    q2 = book.ask(A, at(1, 10, 5), intent="question")
    book.reply(q2)
    wants = book.ask(A, at(1, 10, 10), intent="book", service="botox")
    book.reply(wants, purpose="times_offered")
    book.ask(A, at(1, 10, 11), intent="book")
    book.booked(A, botox, at(1, 10, 11, 30))
    book.outbound(A, at(1, 10, 11, 35), kind="appointment_confirmation")

    # B (Manhattan), Dec 2: a question and a membership question, both with approved answers; then a refund
    # request, handed over (an exception: a question, but not one the receptionist answered). Full summary.
    book.reply(book.ask(B, at(2, 9), intent="question"), purpose="approved_answer")
    book.reply(book.ask(B, at(2, 9, 30), intent="membership"), purpose="approved_answer")
    refund = book.ask(B, at(2, 9, 40), intent="question", escalation="exception")
    book.reply(refund)
    book.hand_over(refund, "exception", "refund, discount or waiver")

    # C (Manhattan), Dec 3 15:00: an emergency. Two alerts, sent 5 s and 9 s after the patient's message (the
    # first counts), claimed 120 s after it. Name, service and context missing from the summary (8 of 11).
    emergency = book.ask(C, at(3, 15), intent="emergency", escalation="emergency")
    book.hand_over(
        emergency,
        "emergency",
        "severe swelling, allergic reaction",
        summary=summary_without("name", "service_interest", "context"),
        claim_after=120,
        alerts=(5, 9),
    )
    # The manager answers the alert from their phone: staff, not a patient's conversation.
    book.ask(MANAGER_PHONE, at(3, 15, 1), intent="other")

    # D (Phoenix), Dec 4 10:00 Phoenix time: a clinical question about a reaction (side effects): alert at 20 s,
    # claimed at 600 s. Service and context missing (9 of 11).
    reaction = book.ask(D, at(4, 10, zone=PHOENIX), intent="clinical", escalation="clinical", number=desert)
    book.hand_over(
        reaction,
        "clinical",
        "side effects",
        summary=summary_without("service_interest", "context"),
        claim_after=600,
        alerts=(20,),
    )

    # E (Manhattan), Dec 5: called the spring campaign's number, then a clinical question about medications
    # (not a reaction); no alert, never claimed. Context missing (10 of 11).
    book.call(E, at(5, 10), number=tracking, campaign=spring)
    medication = book.ask(E, at(5, 11), intent="clinical", escalation="clinical")
    book.hand_over(medication, "clinical", "medications", summary=summary_without("context"))

    # F (Manhattan): on Dec 1 staff booked them by phone after two messages; on Dec 6 lip filler booked by
    # text (3 messages since that booking), then staff took the thread over and wrote; the question asked
    # meanwhile got no receptionist reply, so it is not an answered question.
    book.reply(book.ask(F, at(1, 9), intent="book"))
    book.booked(F, botox, at(1, 9, 30), source="staff")
    wants = book.ask(F, at(6, 12), intent="book", service="lip-filler")
    book.reply(wants, purpose="times_offered")
    book.ask(F, at(6, 12, 1), intent="book")
    book.booked(F, filler, at(6, 12, 1, 30))
    book.ask(F, at(6, 12, 5), intent="question")
    Conversation.objects.filter(phone=F, practice=practice).update(taken_over_by=manager.user)
    Message.objects.create(
        practice=practice,
        conversation=book.thread(F),
        direction=Message.Direction.OUTBOUND,
        channel=Channel.SMS,
        sender=Message.Sender.STAFF,
        sent_by=manager.user,
        kind="staff_reply",
        body="Staff here",
        created_at=at(6, 12, 10),
        sent_at=at(6, 12, 10),
    )

    # G (Manhattan), Dec 7: only said hello. On Dec 8 (outside the week) a question with an approved answer.
    book.ask(G, at(7, 18), intent="greeting")
    book.reply(book.ask(G, at(8, 9), intent="question"), purpose="approved_answer")

    # Another practice, the same phones and kinds of rows on Dec 2: never counted.
    other = PracticeFactory(time_zone="America/New_York")
    other_book = Desk(practice=other, number=PhoneNumberFactory(practice=other))
    other_botox = ServiceFactory(practice=other, slug="botox")
    for phone in (A, B, C):
        question = other_book.ask(phone, at(2, 10), intent="question")
        other_book.reply(question, purpose="approved_answer")
        other_book.hand_over(other_book.ask(phone, at(2, 11), intent="emergency"), "emergency", "urgent", alerts=(1,))
        other_book.booked(phone, other_botox, at(2, 12))

    return {
        "practice": practice,
        "manager": manager,
        "phoenix": phoenix,
        "botox": botox,
        "spring": spring,
        "other": other,
    }


def week_figures(desk, start=WEEK[0], end=WEEK[1], **filters) -> dict:
    return figures(desk["practice"], Filters(start=start, end=end, **filters))


def test_the_weeks_figures_worked_out_by_hand(desk):
    quality = week_figures(desk)
    # Conversations: A, B, C, D, E, F and G wrote in the week; the manager's phone is staff, not a patient.
    assert quality["conversations"] == 7
    # Questions the receptionist answered: A's two, B's question and membership question. B's refund went to
    # staff as an escalation; F's question came while staff had the thread; G's was on Dec 8. 3 of 4 approved.
    assert quality["approved_answers"] == {"questions": 4, "approved": 3, "other": 1, "rate": 75.0}
    # Handed to staff: B, C, D, E (escalations) and F (taken over): 5 of 7 = 71.4%.
    assert quality["staff_review"] == {
        "conversations": 7,
        "handed_to_staff": 5,
        "rate": 71.4,
        "escalated": 4,
        "taken_over": 1,
    }
    # Adverse events: C's emergency and D's reaction (E's medication question is not one): 2 of 7 = 28.6%.
    # To the alert: 5 s and 20 s (median 12.5, nearest-rank p90 20); to the claim: 120 s and 600 s.
    assert quality["adverse_events"] == {
        "conversations": 7,
        "handed_off": 2,
        "rate": 28.6,
        "escalations": 2,
        "emergency": 1,
        "clinical_reaction": 1,
        "to_alert": {"count": 2, "median_seconds": 12.5, "p90_seconds": 20},
        "to_claim": {"count": 2, "median_seconds": 360.0, "p90_seconds": 600},
        "no_alert_sent": 0,
        "unclaimed": 0,
    }
    # Summaries: 11, 8, 9 and 10 of 11 fields: 38 / 44 = 86.4%; one complete. Context missing from 3 of 4,
    # service of interest from 2, name from 1.
    completeness = quality["summary_completeness"]
    assert (completeness["escalations"], completeness["mean_percent"], completeness["complete"]) == (4, 86.4, 1)
    assert [(row["field"], row["count"], row["percent"]) for row in completeness["missing"]] == [
        ("context", 3, 75.0),
        ("service_interest", 2, 50.0),
        ("name", 1, 25.0),
    ]
    # Bookings by text: A's (7 messages) and F's lip filler (3 since staff's booking of Dec 1). F's staff
    # booking is not by text. 10 messages, mean 5, median 5.
    assert quality["messages_per_booking"] == {"bookings": 2, "messages": 10, "mean": 5.0, "median": 5.0}
    reasons = quality["handover_reasons"]
    assert [(row["category"], row["count"]) for row in reasons["categories"]] == [
        ("clinical", 2),
        ("emergency", 1),
        ("exception", 1),
    ]
    assert [(row["category"], row["rule"], row["count"]) for row in reasons["rules"]] == [
        ("clinical", "medications", 1),
        ("clinical", "side effects", 1),
        ("emergency", "allergic reaction", 1),
        ("emergency", "severe swelling", 1),
        ("exception", "refund, discount or waiver", 1),
    ]
    assert reasons["takeovers"] == 1


def test_a_location_filter_keeps_only_that_locations_conversations_and_bookings(desk):
    quality = week_figures(desk, location_id=desk["phoenix"].pk)
    # Only D wrote to Phoenix: one conversation, handed over for a reaction, alerted at 20 s, claimed at 600 s.
    assert quality["conversations"] == 1
    assert quality["approved_answers"]["rate"] is None  # no question: nothing to divide, no error
    assert quality["staff_review"]["rate"] == 100.0
    adverse = quality["adverse_events"]
    assert (adverse["handed_off"], adverse["rate"]) == (1, 100.0)
    assert adverse["to_alert"] == {"count": 1, "median_seconds": 20, "p90_seconds": 20}
    assert quality["summary_completeness"]["mean_percent"] == 81.8  # 9 of 11
    assert quality["messages_per_booking"] == {"bookings": 0, "messages": 0, "mean": None, "median": None}


def test_a_date_filter_moves_the_figures_with_the_days(desk):
    quality = week_figures(desk, start=date(2026, 12, 3), end=date(2026, 12, 7))
    # Dec 3-7: C, D, E, F and G. No answered question (F's came while staff had the thread). Handed over:
    # C, D, E and F: 4 of 5. Adverse: C and D, 2 of 5. F's lip filler: 3 messages. Summaries 8, 9, 10 of 11.
    assert quality["conversations"] == 5
    assert quality["approved_answers"] == {"questions": 0, "approved": 0, "other": 0, "rate": None}
    assert (quality["staff_review"]["handed_to_staff"], quality["staff_review"]["rate"]) == (4, 80.0)
    assert quality["adverse_events"]["rate"] == 40.0
    assert quality["messages_per_booking"] == {"bookings": 1, "messages": 3, "mean": 3.0, "median": 3}
    assert quality["summary_completeness"]["mean_percent"] == 81.8  # 27 of 33
    assert [row["category"] for row in quality["handover_reasons"]["categories"]] == ["clinical", "emergency"]


def test_service_and_source_filters(desk):
    botox = week_figures(desk, service_id=desk["botox"].pk)
    # Botox: only A named it (and booked it): their two questions, one approved; no escalation; one booking.
    assert botox["conversations"] == 1
    assert botox["approved_answers"]["rate"] == 50.0
    assert botox["staff_review"]["rate"] == 0.0
    assert botox["messages_per_booking"]["bookings"] == 1
    spring = week_figures(desk, source="spring")
    # Spring: only E called the campaign's number: one conversation, escalated, not an adverse event.
    assert spring["conversations"] == 1
    assert (spring["staff_review"]["rate"], spring["adverse_events"]["rate"]) == (100.0, 0.0)
    assert spring["handover_reasons"]["rules"] == [
        {"rule": "medications", "category": "clinical", "label": "Clinical question", "count": 1}
    ]


def test_an_empty_range_gives_dashes_not_errors(desk):
    quality = week_figures(desk, start=date(2026, 11, 1), end=date(2026, 11, 7))
    assert quality["conversations"] == 0
    assert quality["approved_answers"]["rate"] is None
    assert quality["staff_review"]["rate"] is None
    assert quality["adverse_events"]["to_alert"] == {"count": 0, "median_seconds": None, "p90_seconds": None}
    assert quality["summary_completeness"]["mean_percent"] is None
    assert quality["messages_per_booking"]["mean"] is None


def test_the_other_practice_sees_only_its_own(desk):
    # Its three conversations on Dec 2: three approved answers, three emergencies alerted in 1 s.
    quality = figures(desk["other"], Filters(start=WEEK[0], end=WEEK[1]))
    assert quality["conversations"] == 3
    assert quality["approved_answers"]["rate"] == 100.0
    assert quality["adverse_events"]["to_alert"]["median_seconds"] == 1


def test_rule_names_come_only_from_the_rules_never_from_other_words():
    reasons = ["service: 'my lips'", "escalation: emergency (severe swelling, vision change)", "whatever"]
    assert rule_names(reasons, "emergency") == ["vision change", "severe swelling"]
    assert rule_names(["escalation: emergency (my name is Ann)"], "emergency") == []
    assert rule_names(["escalation: exception (refund, discount or waiver)"], "exception") == [
        "refund, discount or waiver"
    ]


# The page, the API and the export.


@pytest.fixture
def manager_client(client, desk):
    client.force_login(StaffMemberFactory(practice=desk["practice"], role="manager").user)
    return client


def test_the_page_the_api_and_the_export_agree(manager_client, desk):
    api = manager_client.get("/api/v1/analytics/quality/", WEEK_QUERY)
    assert api.status_code == 200
    data = api.json()
    assert data["filters"] == WEEK_QUERY
    assert {key: value for key, value in data.items() if key != "filters"} == json.loads(json.dumps(week_figures(desk)))

    # The dashboard loads its section after the page (a year of conversations takes a while to read).
    dashboard = manager_client.get("/analytics/", WEEK_QUERY).content.decode()
    assert 'hx-get="/analytics/quality/?start=2026-12-01&amp;end=2026-12-07"' in dashboard
    assert 'href="/analytics/quality/?start=2026-12-01&amp;end=2026-12-07"' in dashboard
    fragment = manager_client.get("/analytics/quality/", WEEK_QUERY, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section class="panel" id="quality"') and "<html" not in fragment
    page = manager_client.get("/analytics/quality/", WEEK_QUERY).content.decode()
    assert "<h1>Receptionist quality</h1>" in page and 'aria-current="page">Receptionist quality' in page
    section = fragment.split('id="quality-title"', 1)[1]
    assert section in page
    assert '<th scope="row">With the practice\'s approved answer</th><td>3 (75%)</td>' in section
    assert '<th scope="row">Handed to staff</th><td>5 (71.4%)</td>' in section
    assert "median 12 s, 90% within 20 s" in section  # 12.5 s shown to the second
    assert "median 6 min, 90% within 10 min" in section
    assert '<th scope="row">Mean per booking</th><td>5</td>' in section
    assert '<th scope="row">Context (membership, cues)</th><td>3 (75%)</td>' in section
    assert '<th scope="row">side effects</th><td>Clinical question</td><td>1</td>' in section
    assert '<th scope="row">Staff takeovers</th><td>1</td>' in section

    exported = list(
        csv.reader(io.StringIO(manager_client.get("/analytics/export/quality.csv", WEEK_QUERY).content.decode()))
    )
    assert exported[0] == ["figure", "measure", "value"]
    values = {(figure, measure): value for figure, measure, value in exported[1:]}
    assert values[("approved_answers", "rate_percent")] == "75.0"
    assert values[("adverse_events", "to_alert_p90_seconds")] == "20"
    assert values[("messages_per_booking", "median")] == "5.0"
    reasons = list(
        csv.reader(
            io.StringIO(manager_client.get("/analytics/export/handover-reasons.csv", WEEK_QUERY).content.decode())
        )
    )
    assert ["rule", "exception", "refund, discount or waiver", "1"] in reasons
    assert reasons[-1] == ["staff_takeover", "", "", "1"]
    fields = list(
        csv.reader(io.StringIO(manager_client.get("/analytics/export/summary-fields.csv", WEEK_QUERY).content.decode()))
    )
    assert fields[1:] == [["context", "3", "75.0"], ["service_interest", "2", "50.0"], ["name", "1", "25.0"]]


def test_bad_filters_and_another_practices_location_are_refused(manager_client, desk):
    assert manager_client.get("/api/v1/analytics/quality/", {"start": "soon"}).status_code == 400
    theirs = LocationFactory(practice=desk["other"])
    response = manager_client.get("/api/v1/analytics/quality/", {"location": theirs.pk})
    assert response.status_code == 400 and "location" in response.json()


def test_front_desk_gets_no_practice_quality_figures(client, desk):
    client.force_login(StaffMemberFactory(practice=desk["practice"], role="front_desk").user)
    assert client.get("/api/v1/analytics/quality/", WEEK_QUERY).status_code == 403
    for table in ("quality", "handover-reasons", "summary-fields"):
        assert client.get(f"/analytics/export/{table}.csv", WEEK_QUERY).status_code == 403
    assert client.get("/analytics/quality/", WEEK_QUERY).status_code == 403
    assert client.get("/analytics/quality/", WEEK_QUERY, HTTP_HX_REQUEST="true").status_code == 403
    page = client.get("/analytics/", WEEK_QUERY)
    assert page.status_code == 200 and "Receptionist quality" not in page.content.decode()


# Through the real SMS webhook.


def test_a_question_answered_with_an_approved_answer_through_the_webhook_counts(line, twilio, clock):  # noqa: F811
    ApprovedAnswer.objects.create(
        practice=line.practice,
        topic="financing",
        title="Financing",
        phrasings=["do you offer financing"],
        answer="Yes: Cherry and CareCredit, apply at the front desk.",
    )

    def text(body: str, n: int) -> None:
        sid = f"SM{n:032d}"
        params = fixture("sms_inbound", Body=body, From=A, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
        assert twilio("/webhooks/twilio/sms/", params).status_code == 200
        clock.shift(timedelta(seconds=30))

    text("Do you offer financing?", 1)
    text("Do you take insurance?", 2)  # no approved answer: passed to staff
    replies = list(Message.objects.filter(direction="outbound").order_by("created_at").values_list("kind", "body"))
    assert replies[0][0] == "approved_answer" and "Cherry and CareCredit" in replies[0][1]
    assert replies[1][0] == "reply"
    today = datetime.now(NY).date()
    quality = figures(line.practice, Filters(start=today, end=today))
    assert quality["conversations"] == 1
    assert quality["approved_answers"] == {"questions": 2, "approved": 1, "other": 1, "rate": 50.0}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@skip_without_chromium()
def test_the_dashboard_loads_its_quality_section_in_a_browser(browser, live_server, desk, settings):
    settings.DEBUG = False
    StaffMemberFactory(practice=desk["practice"], user__username="morgan", role="manager")
    page, errors, remote = signed_in(browser, live_server.url, "morgan")
    page.goto(f"{live_server.url}/analytics/?start={WEEK[0]}&end={WEEK[1]}")
    section = page.locator("#quality")
    section.locator("text=Handed to staff").wait_for()
    assert "5 (71.4%)" in section.inner_text()
    shot(page, "analytics-quality")
    assert errors == []  # no Content-Security-Policy report, no script error
    assert [url for url in remote if not url.startswith("data:")] == []
    page.close()


def test_an_emergency_through_the_webhook_is_timed_to_the_staff_alert_and_the_claim(line, twilio, clock):  # noqa: F811
    nurse = StaffMemberFactory(practice=line.practice, role="clinical", phone="+12125550177", receives_alerts=True)
    params = fixture("sms_inbound", Body="My lip is turning white after filler", From=A)
    assert twilio("/webhooks/twilio/sms/", params).status_code == 200
    escalation = Escalation.objects.get(practice=line.practice)
    assert escalation.category == "emergency"
    alert = Outreach.objects.get(kind="staff_alert", phone=nurse.phone)
    assert alert.state == "sent"
    clock.shift(timedelta(minutes=3))
    escalation_claim(escalation=escalation, user=nurse.user)
    today = datetime.now(NY).date()
    adverse = figures(line.practice, Filters(start=today, end=today))["adverse_events"]
    assert (adverse["handed_off"], adverse["emergency"]) == (1, 1)
    # The clock stands still within the request: the alert went out in the same instant, the claim 3 min later.
    assert adverse["to_alert"] == {"count": 1, "median_seconds": 0, "p90_seconds": 0}
    assert adverse["to_claim"] == {"count": 1, "median_seconds": 180, "p90_seconds": 180}
