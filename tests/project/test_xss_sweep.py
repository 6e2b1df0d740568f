"""What a patient writes (their name, their texts) is shown escaped everywhere staff see it.

The payloads go in the way they would in production where they can: the texts arrive through the signed
Twilio SMS webhook, so the escalation summaries are built by the receptionist's own code; visits are booked and
cancelled through the API and the console; notes, replies and follow-ups through the console's forms. Then
every page that can show them is read (the console, analytics and its CSVs, the admin as a superuser and as a
manager, the API as JSON and as DRF's browsable HTML, the demo simulator) and no HTML answer may carry a payload
as markup. The escaped form must be there on the pages that show patient words, so the sweep cannot pass by
showing nothing. Staff alerts (texts and emails) carry the kind of escalation, never the patient's words.
"""

import json
import xml.etree.ElementTree as ElementTree
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from analytics.services import rollups_compute
from analytics.views import TABLES
from booking import intake
from booking import services as booking
from booking.models import Appointment, IntakeForm, SeriesTemplate
from calls.messaging import backends
from calls.models import Conversation, Message, Outreach
from escalations.models import Escalation
from practices.models import Campaign
from practices.roles import MANAGED_APPS
from practices.tenancy import practice_lookup, scope_to_practice
from tests.analytics.conftest import Book
from tests.calls.conftest import fixture, sign
from tests.factories import (
    BusinessHoursFactory,
    LocationFactory,
    PatientFactory,
    PhoneNumberFactory,
    PracticeFactory,
    ProviderFactory,
    ProviderShiftFactory,
    ServiceFactory,
    StaffMemberFactory,
)

NY = ZoneInfo("America/New_York")
# A Wednesday, 10:00 in New York: open, and outside quiet hours, so replies and alerts go out at once.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=NY)
SMS = "/webhooks/twilio/sms/"
PATIENT_PHONE = "+16465550188"
LEAD_PHONE = "+16465550199"

FIRST_NAME = '<script>alert("n")</script>'
LAST_NAME = '"><img src=x onerror=alert(1)>'
CLINICAL_TEXT = "is it safe to get botox while breastfeeding? <script>alert('sms')</script>"
EMERGENCY_TEXT = "<svg onload=alert(1)> my lip looks purple since the filler yesterday"
LEAD_TEXT = '"><img src=x onerror=alert(2)> hi, do you have anything for botox next week?'
CANCEL_REASON = "<script>alert('cancel')</script> can't make it"
SERIES_CANCEL_REASON = "<img src=x onerror=alert('series')> sick"
FOLLOW_UP_REASON = "<svg onload=alert('task')> not ready yet"
CALLBACK_REASON = "<script>alert('callback')</script> wants a call"
CAMPAIGN_NAME = "<svg onload=alert('campaign')> Holiday glow"
NOTE = "<script>alert('note')</script> called, left voicemail"
REPLY = "<img src=x onerror=alert('reply')> we'll call you"
INTAKE_TEXT = "<script>alert('intake')</script> warfarin"
# Markup a browser would run: none of these may appear in an HTML answer.
RAW = ["<script>alert", "<img src=x onerror", "<svg onload"]
ESCAPED = "&lt;script&gt;alert("
PATIENT_WORDS = [CLINICAL_TEXT, EMERGENCY_TEXT, "breastfeeding", "lip looks purple", "<script>alert('sms')", "<svg"]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def outbox():
    backends.outbox.clear()
    yield backends.outbox
    backends.outbox.clear()


@pytest.fixture
def webhook(django_capture_on_commit_callbacks):
    """POST a signed SMS webhook the way Twilio does, running what it queues after commit."""
    twilio = Client()

    def text(body: str, *, sid: int, phone: str = PATIENT_PHONE, to: str = "+12125550100"):
        message_sid = f"SM{sid:032d}"
        params = fixture("sms_inbound", Body=body, From=phone, To=to, MessageSid=message_sid, SmsSid=message_sid)
        params["SmsMessageSid"] = message_sid
        with django_capture_on_commit_callbacks(execute=True):
            response = twilio.post(SMS, params, HTTP_X_TWILIO_SIGNATURE=sign(SMS, params))
        assert response.status_code == 200, response.content
        return response

    return text


@pytest.fixture
def clinic(db, webhook, django_capture_on_commit_callbacks):
    """A practice whose patient, lead, staff and campaign all wrote payloads, the way the app takes them in."""
    practice = PracticeFactory(brand_name="Glow Aesthetics", contact_phone="+12125550143", min_notice_minutes=0)
    location = LocationFactory(practice=practice, name="Midtown", time_zone="America/New_York")
    for weekday in range(7):
        BusinessHoursFactory(location=location, weekday=weekday, opens_at=time(9), closes_at=time(19))
    PhoneNumberFactory(practice=practice, location=location, number="+12125550100")
    service = ServiceFactory(practice=practice, name="Botox", slug="botox", synonyms=["tox"], duration_minutes=30)
    provider = ProviderFactory(practice=practice, first_name="Sofia")
    provider.locations.add(location)
    provider.services.add(service)
    for weekday in range(7):
        ProviderShiftFactory(provider=provider, location=location, weekday=weekday, starts_at=time(9), ends_at=time(19))
    patient = PatientFactory(
        practice=practice, phone=PATIENT_PHONE, first_name=FIRST_NAME, last_name=LAST_NAME, is_returning=True
    )
    nurse = StaffMemberFactory(practice=practice, role="manager", phone="+19175550134", user__username="nurse")
    by_email = StaffMemberFactory(practice=practice, role="manager", email="owner@example.com", user__username="owner")
    desk = StaffMemberFactory(practice=practice, role="front_desk", user__username="desk").user
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-test-password")

    # The patient's texts and a new lead's, through the real webhook.
    webhook(CLINICAL_TEXT, sid=1)
    webhook(EMERGENCY_TEXT, sid=2)
    webhook(LEAD_TEXT, sid=3, phone=LEAD_PHONE)
    conversation = Conversation.objects.get(practice=practice, phone=PATIENT_PHONE, channel="sms")
    lead = Conversation.objects.get(practice=practice, phone=LEAD_PHONE, channel="sms")

    # Visits booked and cancelled through the API and the console, with the patient's reason.
    api = Client()
    api.force_login(desk)
    console = Client()
    console.force_login(desk)
    tomorrow = NOW.date() + timedelta(days=1)

    def book(day, hour):
        starts_at = datetime.combine(day, time(hour), NY).isoformat()
        data = {
            "patient": patient.pk,
            "service": service.pk,
            "location": location.pk,
            "provider": provider.pk,
            "starts_at": starts_at,
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/appointments/", data)
        assert response.status_code == 201, response.content
        return Appointment.objects.get(pk=response.json()["id"])

    today_visit = book(NOW.date(), 15)
    cancelled = book(tomorrow, 11)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/appointments/{cancelled.pk}/cancel/", {"reason": CANCEL_REASON})
    assert response.status_code == 200, response.content

    template = SeriesTemplate.objects.create(
        practice=practice, name="Tox maintenance", service=service, visits=3, interval_days=90
    )
    enrollment = booking.enrollment_start(patient=patient, template=template, started_on=NOW.date())
    series_visit = book(tomorrow, 13)
    Appointment.objects.filter(pk=series_visit.pk).update(enrollment=enrollment)
    with django_capture_on_commit_callbacks(execute=True):
        response = console.post(f"/console/appointments/{series_visit.pk}/cancel/", {"reason": SERIES_CANCEL_REASON})
    assert response.status_code == 302

    # Staff's own words through the console: a note, a reply, a follow-up; and a callback from the system.
    escalation = Escalation.objects.filter(practice=practice, category="clinical").get()
    with django_capture_on_commit_callbacks(execute=True):
        assert console.post(f"/console/escalations/{escalation.pk}/note/", {"note": NOTE}).status_code == 302
        assert console.post(f"/console/conversations/{conversation.pk}/reply/", {"body": REPLY}).status_code == 302
        response = console.post(
            f"/console/series/{enrollment.pk}/follow-up/", {"reason": FOLLOW_UP_REASON, "due_on": str(tomorrow)}
        )
    assert response.status_code == 302
    booking.callback_request(patient=patient, reason=CALLBACK_REASON)
    booking.waitlist_add(
        patient=patient, service=service, earliest_on=tomorrow, latest_on=tomorrow + timedelta(days=14)
    )

    # A campaign (staff-written, escaped all the same) with a tracking number that took a call.
    campaign = Campaign.objects.create(
        practice=practice,
        name=CAMPAIGN_NAME,
        kind=Campaign.Kind.OFFER,
        starts_on=NOW.date() - timedelta(days=30),
        ends_on=NOW.date() + timedelta(days=30),
        offer_text="<b>20% off</b>",
        source_code="holiday",
    )
    tracking = PhoneNumberFactory(practice=practice, location=location, campaign=campaign)
    Book(practice=practice, number=tracking).call(LEAD_PHONE, NOW - timedelta(days=2), campaign=campaign)
    rollups_compute(practice=practice, start=NOW.date() - timedelta(days=10), end=NOW.date())

    # Intake answers, through the patient's own form (opened by its signed link, as from the text).
    intake_form = IntakeForm.objects.create(
        practice=practice,
        patient=patient,
        appointment=today_visit,
        nonce=intake._nonce(),
        expires_at=today_visit.starts_at,
    )
    answers = {
        "first_name": FIRST_NAME,
        "last_name": LAST_NAME,
        "date_of_birth": "1990-01-01",
        "medications": INTAKE_TEXT,
        "allergies": INTAKE_TEXT,
        "pregnancy": "no",
        "isotretinoin": "no",
        "conditions": "none",
        "prior_treatments": INTAKE_TEXT,
    }
    response = Client().post(reverse("intake-form", args=[intake.intake_token(intake_form)]), answers)
    assert response.status_code == 302, response.content

    return {
        "practice": practice,
        "patient": patient,
        "intake": intake_form,
        "conversation": conversation,
        "lead": lead,
        "escalation": escalation,
        "today_visit": today_visit,
        "cancelled": cancelled,
        "enrollment": enrollment,
        "service": service,
        "location": location,
        "campaign": campaign,
        "nurse": nurse,
        "by_email": by_email,
        "manager": nurse.user,
        "desk": desk,
        "superuser": superuser,
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unescaped(response) -> list[str]:
    """The payloads an HTML answer carries as markup; [] for JSON, CSV and other answers a browser won't run."""
    content_type = response.get("Content-Type", "")
    body = response.content.decode(errors="replace")
    if content_type.startswith("application/json"):
        json.loads(body)
        return []
    if content_type.startswith("text/csv"):
        assert response["Content-Disposition"].startswith("attachment"), response["Content-Disposition"]
        return []
    if not content_type.startswith("text/html"):
        return []
    return [payload for payload in RAW if payload in body]


def read_all(client: Client, paths: list, *, headers: dict | None = None) -> dict:
    """GET every path; the bodies of the ones answered 200, and a list of problems."""
    bodies, problems = {}, []
    for path in paths:
        response = client.get(path, **(headers or {}))
        if response.status_code != 200:
            problems.append(f"GET {path}: {response.status_code}")
            continue
        raw = unescaped(response)
        if raw:
            problems.append(f"GET {path} ({response['Content-Type']}) carries {raw} unescaped")
        bodies[path] = response.content.decode(errors="replace")
    return {"bodies": bodies, "problems": problems}


def test_the_payloads_went_in_through_the_real_code(clinic):
    """The fixture is what the sweeps below read: make sure each payload really is in the database."""
    escalation = clinic["escalation"]
    assert escalation.summary["name"] == f"{FIRST_NAME} {LAST_NAME}"
    assert escalation.summary["exact_words"] == CLINICAL_TEXT
    emergency = Escalation.objects.get(practice=clinic["practice"], category="emergency")
    assert emergency.summary["exact_words"] == EMERGENCY_TEXT
    assert Message.objects.filter(body=LEAD_TEXT, direction="inbound").exists()
    assert Message.objects.filter(body__contains=REPLY, direction="outbound").exists()
    clinic["cancelled"].refresh_from_db()
    assert clinic["cancelled"].cancellation_reason == CANCEL_REASON
    tasks = set(clinic["patient"].follow_up_tasks.values_list("reason", flat=True))
    assert {SERIES_CANCEL_REASON, FOLLOW_UP_REASON, CALLBACK_REASON} <= tasks
    assert escalation.__class__.objects.get(pk=escalation.pk).notes[0]["text"] == NOTE


def test_the_console_escapes_patient_words_on_every_page(clinic):
    patient, conversation, lead = clinic["patient"], clinic["conversation"], clinic["lead"]
    today, tomorrow = NOW.date(), NOW.date() + timedelta(days=1)
    location, service = clinic["location"], clinic["service"]
    staff_thread = Conversation.objects.get(practice=clinic["practice"], phone=clinic["nurse"].phone)
    pages = [
        "/console/",
        "/console/counts/",
        "/console/escalations/",
        "/console/callbacks/",
        "/console/conversations/",
        f"/console/conversations/{conversation.pk}/",
        f"/console/conversations/{lead.pk}/",
        f"/console/conversations/{staff_thread.pk}/",
        f"/console/schedule/?location={location.pk}&date={today}",
        f"/console/schedule/?location={location.pk}&date={tomorrow}",
        "/console/series/",
        f"/console/patients/{patient.pk}/",
        f"/console/patients/{patient.pk}/phone/",
        f"/console/intake/{clinic['intake'].pk}/",
        f"/console/schedule/book/?location={location.pk}&service={service.pk}&date={tomorrow}",
        f"/console/schedule/book/?location={location.pk}&service={service.pk}&date={tomorrow}"
        f"&reschedule={clinic['today_visit'].pk}",
    ]
    for user in (clinic["desk"], clinic["manager"]):
        client = signed_in(user)
        full = read_all(client, pages)
        # The same pages' htmx fragments (the lists and the thread that poll).
        fragments = read_all(
            client,
            ["/console/escalations/", "/console/conversations/", f"/console/conversations/{conversation.pk}/"],
            headers={"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "thread"},
        )
        problems = full["problems"] + fragments["problems"]
        assert not problems, "\n".join(problems)
        bodies = full["bodies"]
        for path in (
            "/console/escalations/",
            f"/console/conversations/{conversation.pk}/",
            f"/console/patients/{patient.pk}/",
        ):
            assert ESCAPED in bodies[path], f"{path} shows no escaped payload: did it show the patient at all?"
        assert "&lt;svg onload=alert(1)&gt;" in bodies["/console/escalations/"]  # the emergency's words
        assert "&lt;script&gt;alert(&#x27;note&#x27;)" in bodies["/console/escalations/"]
        assert "&lt;img src=x onerror=alert(&#x27;reply&#x27;)" in bodies[f"/console/conversations/{conversation.pk}/"]
        assert "&lt;img src=x onerror=alert(2)&gt;" in bodies[f"/console/conversations/{lead.pk}/"]
        assert "&lt;script&gt;alert(&#x27;intake&#x27;)" in bodies[f"/console/intake/{clinic['intake'].pk}/"]
        callbacks = bodies["/console/callbacks/"]
        assert "&lt;script&gt;alert(&#x27;cancel&#x27;)" in callbacks  # upcoming cancellations, with the reason
        assert "&lt;svg onload=alert(&#x27;task&#x27;)" in callbacks
        assert "&lt;script&gt;alert(&#x27;callback&#x27;)" in callbacks


def test_analytics_pages_escape_and_csvs_download_as_files(clinic):
    manager = signed_in(clinic["manager"])
    window = f"start={NOW.date() - timedelta(days=27)}&end={NOW.date() + timedelta(days=1)}"
    pages = [
        f"/analytics/?{window}",
        f"/analytics/?{window}&source=holiday",
        "/analytics/series/",
        f"/analytics/series/?week={NOW.date() + timedelta(days=1)}",
        "/analytics/roi/",
        *[f"/analytics/export/{table}.csv?{window}" for table in TABLES],
        "/api/v1/analytics/summary/",
        "/api/v1/analytics/series-review/",
        "/api/v1/analytics/roi/",
    ]
    read = read_all(manager, pages)
    browsable = read_all(
        manager, [path for path in pages if path.startswith("/api/")], headers={"HTTP_ACCEPT": "text/html"}
    )
    mine = read_all(signed_in(clinic["desk"]), ["/analytics/", "/api/v1/analytics/me/"])
    problems = read["problems"] + browsable["problems"] + mine["problems"]
    assert not problems, "\n".join(problems)
    # The campaign's name is in the dashboard (the source filter lists every campaign), escaped.
    assert "&lt;svg onload=alert(&#x27;campaign&#x27;)&gt;" in read["bodies"][f"/analytics/?{window}"]


def admin_pages(practice) -> list[str]:
    """The changelist of every model the admin registers, and the change page of every row of ours."""
    pages = []
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        try:
            practice_lookup(model)
        except LookupError:
            continue
        if meta.app_label == "auth":
            continue
        for pk in scope_to_practice(model._default_manager.all(), practice).values_list("pk", flat=True)[:25]:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk]))
    return pages


def test_the_admin_escapes_patient_words_for_superusers_and_managers(clinic):
    patient = clinic["patient"]
    pages = admin_pages(clinic["practice"])
    extras = [
        reverse("admin:practices_patient_history", args=[patient.pk]),
        reverse("admin:practices_patient_delete", args=[patient.pk]),  # lists everything the patient has
        reverse("admin:practices_patient_changelist") + "?q=script",
        reverse("admin:escalations_escalation_changelist") + "?q=script",
        reverse("admin:autocomplete") + "?app_label=practices&model_name=patient&field_name=home_location&term=",
    ]
    # A manager sees our apps only (auth, tokens, the task queue and sign-in lockouts are for superusers). The
    # practice's own settings page raises for a manager (see tests/project/test_url_sweep.py); it shows no
    # patient words, so it is left out here.
    manager_pages = [
        page
        for page in pages
        if page.split("/")[2] in MANAGED_APPS and ("/practices/practice/" not in page or page.endswith("/practice/"))
    ]
    for user, paths in ((clinic["superuser"], pages), (clinic["manager"], manager_pages)):
        read = read_all(signed_in(user), paths + extras)
        assert not read["problems"], "\n".join(read["problems"])
        patient_page = read["bodies"][reverse("admin:practices_patient_change", args=[patient.pk])]
        assert "&lt;script&gt;alert(&quot;n&quot;)&lt;/script&gt;" in patient_page
        escalation_page = read["bodies"][reverse("admin:escalations_escalation_change", args=[clinic["escalation"].pk])]
        assert "&lt;script&gt;alert(" in escalation_page  # the summary, read-only, escaped


def test_the_api_is_json_and_its_browsable_pages_escape(clinic):
    client = signed_in(clinic["desk"])
    paths = [
        "/api/v1/conversations/",
        f"/api/v1/conversations/{clinic['conversation'].pk}/",
        f"/api/v1/conversations/{clinic['lead'].pk}/",
        "/api/v1/escalations/",
        f"/api/v1/escalations/{clinic['escalation'].pk}/",
        f"/api/v1/appointments/?date={NOW.date() + timedelta(days=1)}",
        f"/api/v1/appointments/?date={NOW.date()}",
        f"/api/v1/appointments/{clinic['cancelled'].pk}/",
        "/api/v1/series-enrollments/",
    ]
    as_json = read_all(client, paths)
    as_html = read_all(client, paths, headers={"HTTP_ACCEPT": "text/html"})
    assert not as_json["problems"] + as_html["problems"], "\n".join(as_json["problems"] + as_html["problems"])
    for path in paths:
        response = client.get(path)
        assert response["Content-Type"] == "application/json", path
    detail = json.loads(as_json["bodies"][f"/api/v1/conversations/{clinic['conversation'].pk}/"])
    assert CLINICAL_TEXT in [message["body"] for message in detail["messages"]]  # JSON carries the text as text
    assert ESCAPED in as_html["bodies"][f"/api/v1/escalations/{clinic['escalation'].pk}/"]


def test_the_demo_simulator_escapes_the_thread(clinic, settings):
    settings.DEMO_MODE = True
    read = read_all(
        signed_in(clinic["desk"]), [f"/simulator/?phone={PATIENT_PHONE}", f"/simulator/?phone={LEAD_PHONE}"]
    )
    assert not read["problems"], "\n".join(read["problems"])
    assert "&lt;script&gt;alert(&#x27;sms&#x27;)" in read["bodies"][f"/simulator/?phone={PATIENT_PHONE}"]


def test_staff_alerts_carry_no_patient_words_and_no_html(clinic, outbox):
    alerts = list(Outreach.objects.filter(practice=clinic["practice"], kind=Outreach.Kind.STAFF_ALERT))
    # One alert per new escalation (clinical, emergency) to each of the two staff who take alerts.
    assert len(alerts) == 4, [alert.body for alert in alerts]
    for alert in alerts:
        for words in PATIENT_WORDS:
            assert words not in alert.body, alert.body
    texts = [sent for sent in outbox if sent.to == clinic["nurse"].phone]
    assert len(texts) == 2
    for sent in texts:
        for words in PATIENT_WORDS:
            assert words not in sent.body, sent.body
    emails = [sent for sent in outbox if sent.to == "owner@example.com"]
    assert len(emails) == 2 and {sent.channel for sent in emails} == {"email"}
    # The test backend only records; send them the way the production backends do (Django's send_mail) to
    # see the email itself: plain text, with no HTML part.
    mail.outbox.clear()
    for sent in emails:
        backends.BaseBackend().send(sent)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert message.content_subtype == "plain" and not getattr(message, "alternatives", None), "an HTML email"
        for words in PATIENT_WORDS:
            assert words not in message.body and words not in message.subject, message.body


def test_the_transfer_whisper_speaks_the_name_as_text_not_markup(clinic, client):
    """The staff member who takes a transferred call hears the patient's first name: TwiML is XML, so the
    name must arrive as text inside <Say>, never as elements of its own."""
    path = f"/webhooks/twilio/voice/whisper/?escalation={clinic['escalation'].pk}"
    params = fixture("voice_screen")
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=sign(path, params))
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert [element.tag for element in root.iter()] == ["Response", "Say"]
    assert FIRST_NAME in root.find("Say").text
    assert b"<script>" not in response.content
