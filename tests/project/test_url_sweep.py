"""Every URL the project serves, asked for with another practice's ids, answers "not found" or "not allowed"
and never shows that practice's data.

The patterns are read from the project's resolver, not listed by hand, so a new URL is swept the day it is
added. A pattern with a parameter must be described in `ID_PARAMETERS` (or be an admin object page of a model
in `ADMIN_MODELS`): which model the parameter names, so the sweep can put the other practice's row there. A
new pattern with a parameter that nobody described fails `test_every_url_pattern_is_covered_by_the_sweep`.

Two practices get a full set of rows each. Practice B's rows carry recognisable markers ("ZZOTHER" in every
name, "OTHER-PRACTICE-SECRET" in every message, escalation and cancellation, its patient's phone). A manager
of practice A, a front-desk member of A and a signed-out visitor then ask for every pattern: GET, and POST for
the console, API and admin. What counts as refused:

- 404, 403, or 405 (a method the view does not take);
- a redirect to a sign-in page, for the signed-out visitor, and in the admin for the front desk (the admin is
  for managers: `is_staff` follows the role);
- in the admin, for the manager, Django's own answer to a row it cannot find: a redirect to the admin index
  ("... doesn't exist. Perhaps it was deleted?"), like a deleted row.

Superusers see every practice by design and are not swept. The Twilio webhooks are signed: for them the sweep
only checks that an unsigned request is refused.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token

from analytics.services import rollups_compute
from analytics.views import TABLES
from booking import intake
from booking.models import (
    Appointment,
    CalendarConflict,
    CalendarConnection,
    EventTypeMapping,
    ExternalEvent,
    FollowUpTask,
    IntakeForm,
    ProviderFeed,
    SeriesTemplate,
    WaitlistEntry,
    new_feed_token,
)
from calls.models import Message, MessageMedia, PatientLinkRequest
from escalations import services as escalations
from escalations.models import DutyShift, RoutingRule
from practices.models import (
    ApprovedAnswer,
    BlockedNumber,
    Campaign,
    Closure,
    ConsentEvent,
    IntakeAcknowledgement,
    Membership,
    MessageTemplate,
    Practice,
    Resource,
)
from practices.roles import MANAGED_APPS
from practices.services import consent_record
from practices.tenancy import practice_lookup, scope_to_practice
from tests.analytics.conftest import Book
from tests.console.conftest import build_desk
from tests.factories import (
    AppointmentFactory,
    PhoneNumberFactory,
    PracticeFactory,
    StaffMemberFactory,
)

NY = ZoneInfo("America/New_York")
# A Wednesday, 10:00 in New York: open, outside quiet hours, and today's 15:00 visits are still ahead.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=NY)

OURS_PHONE = "+16465550188"
THEIRS_PHONE = "+16465550177"
# Anything of practice B's that must never reach practice A's staff (compared case-insensitively).
THEIR_MARKERS = ["ZZOTHER", "OTHER-PRACTICE-SECRET", THEIRS_PHONE, THEIRS_PHONE[2:]]
# Practice B's rows also carry this plain word, so searches can look for them without echoing a marker back.
THEIR_SEARCH_WORD = "Quixote"
OUR_MARKER = "AAOURS"

# The actions of /console/appointments/<pk>/<action>/ (plus one that does not exist).
APPOINTMENT_ACTIONS = ["check_in", "complete", "no_show", "confirm", "cancel", "reschedule"]

# URL name -> what each of its parameters means. A string names a row of the other practice (see `Rows`);
# a list gives the values to try as they are.
ID_PARAMETERS = {
    "console-escalation-claim": {"pk": "escalation"},
    "console-escalation-note": {"pk": "escalation"},
    "console-escalation-resolve": {"pk": "escalation"},
    "console-callback-done": {"pk": "follow_up_task"},
    "console-series-prompt": {"pk": "enrollment"},
    "console-series-follow-up": {"pk": "enrollment"},
    "console-conversation": {"pk": "conversation"},
    "console-conversation-take-over": {"pk": "conversation"},
    "console-conversation-hand-back": {"pk": "conversation"},
    "console-conversation-reply": {"pk": "conversation"},
    "console-media": {"pk": "message_media"},
    "console-appointment-action": {"pk": "appointment", "action": APPOINTMENT_ACTIONS},
    "console-checkout": {"pk": "completed_visit"},
    "console-checkout-book": {"pk": "completed_visit"},
    "console-checkout-not-ready": {"pk": "completed_visit"},
    "console-patient": {"pk": "patient"},
    "console-patient-phone": {"pk": "patient"},
    "console-intake": {"pk": "intake"},
    "console-intake-review": {"pk": "intake"},
    "console-intake-resend": {"pk": "intake"},
    # A new patient's intake form opens for whoever holds its signed link: the other practice's link with a
    # forged signature (their form's id and nonce, our expiry) must open nothing.
    "intake-form": {"token": "forged_intake_link"},
    "console-patient-channel": {"pk": "patient"},
    "console-link-confirm": {"pk": "link_request"},
    "console-link-reject": {"pk": "link_request"},
    "api-appointment": {"pk": "appointment"},
    "api-appointment-reschedule": {"pk": "appointment"},
    "api-appointment-cancel": {"pk": "appointment"},
    "api-appointment-ics": {"pk": "appointment"},
    "console-calendar-sync-now": {"pk": "calendar_connection"},
    "console-calendar-conflict-handled": {"pk": "calendar_conflict"},
    # A provider's feed is open to whoever holds its secret token: the other practice's revoked one must 404.
    "calendar-feed": {"token": "revoked_feed_token"},
    "api-conversation": {"pk": "conversation"},
    "api-escalation": {"pk": "escalation"},
    "api-escalation-claim": {"pk": "escalation"},
    "api-escalation-resolve": {"pk": "escalation"},
    # Not an id: the name of a chart's table. A's manager gets A's figures; B's must not be in them.
    "analytics-export": {"table": [*TABLES, "no-such-table"]},
    # The other practice's manager's reset link, with a token nobody issued.
    "password_reset_confirm": {"uidb64": "user_uidb64", "token": ["5n1-0123456789abcdef0123456789abcdef"]},
    "admin:auth_user_password_change": {"id": "user"},
    # Every row of the other practice that the admin registers, by its content type.
    "admin:view_on_site": {"content_type_id": "admin_rows", "object_id": "admin_rows"},
    "admin:app_list": {"app_label": "admin_app_labels"},
}
# admin/<app>/<model>/<id>/, .../change/, .../history/, .../delete/ for every registered model.
ADMIN_OBJECT_ROUTE = re.compile(
    r"^admin/(?P<app>\w+)/(?P<model>\w+)/<path:object_id>/(?P<view>change/|history/|delete/|)$"
)
ADMIN_CATCH_ALL = "admin/(?P<url>.*)$"
# Every model the admin registers: "tenant" rows belong to a practice (the sweep uses practice B's), the others
# are only for superusers (a manager has no permission on them at all).
TENANT, SUPERUSERS_ONLY = "tenant", "superusers only"
ADMIN_MODELS = {
    "practices.practice": TENANT,
    "practices.location": TENANT,
    "practices.closure": TENANT,
    "practices.provider": TENANT,
    "practices.service": TENANT,
    "practices.resource": TENANT,
    "practices.approvedanswer": TENANT,
    "practices.messagetemplate": TENANT,
    "practices.staffmember": TENANT,
    "practices.phonenumber": TENANT,
    "practices.patient": TENANT,
    "practices.membership": TENANT,
    "practices.campaign": TENANT,
    "practices.blockednumber": TENANT,
    "practices.contactconsent": TENANT,
    "practices.consentevent": TENANT,
    "practices.auditevent": TENANT,
    "practices.intakeacknowledgement": TENANT,
    "booking.appointment": TENANT,
    "booking.seriestemplate": TENANT,
    "booking.seriesenrollment": TENANT,
    "booking.followuptask": TENANT,
    "booking.waitlistentry": TENANT,
    "booking.intakeform": TENANT,
    "booking.calendarconnection": TENANT,
    "booking.eventtypemapping": TENANT,
    "booking.providerfeed": TENANT,
    "escalations.escalation": TENANT,
    "escalations.routingrule": TENANT,
    "escalations.dutyshift": TENANT,
    "calls.call": TENANT,
    "calls.conversation": TENANT,
    "calls.message": TENANT,
    "calls.outreach": TENANT,
    "analytics.dailyrollup": TENANT,
    "analytics.rollupday": TENANT,
    "auth.group": SUPERUSERS_ONLY,
    "auth.user": SUPERUSERS_ONLY,
    "authtoken.tokenproxy": SUPERUSERS_ONLY,
    "django_q.schedule": SUPERUSERS_ONLY,
    "django_q.success": SUPERUSERS_ONLY,
    "django_q.failure": SUPERUSERS_ONLY,
    "django_q.ormq": SUPERUSERS_ONLY,
    "axes.accessattempt": SUPERUSERS_ONLY,
    "axes.accesslog": SUPERUSERS_ONLY,
    "axes.accessfailurelog": SUPERUSERS_ONLY,
}
# Signed in, these would end the session the sweep is using.
NEVER_POST = {"logout", "admin:logout"}
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")


# The resolver, walked.


@dataclass(frozen=True)
class Route:
    route: str  # the full pattern, as Django writes it: "console/patients/<int:pk>/"
    name: str  # "console-patient", "admin:practices_patient_change"; "" when the pattern has none
    params: tuple[str, ...]
    is_regex: bool

    @property
    def label(self) -> str:
        return f"/{self.route}" + (f" ({self.name})" if self.name else "")


def _params(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return list(pattern.regex.groupindex)


def all_routes(resolver=None, prefix: str = "", namespace: str = "", params: tuple = ()) -> list[Route]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        here = params + tuple(_params(entry.pattern))
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace]))
            routes += all_routes(entry, route, inner, here)
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name])) if entry.name else ""
            is_regex = isinstance(entry.pattern, RegexPattern)
            routes.append(Route(route=route, name=name, params=here, is_regex=is_regex))
    return routes


def fill(route: Route, values: dict) -> str:
    """The path of `route` with its parameters replaced by `values`."""
    path = route.route
    for name, value in values.items():
        if route.is_regex:
            path = re.sub(rf"\(\?P<{name}>(?:[^()]|\([^()]*\))*\)", str(value), path)
        else:
            path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    path = "/" + path.replace("^", "").replace("$", "")
    assert "<" not in path and "(?P" not in path, (route.label, values, path)
    return path


def admin_object(route: Route):
    """(model label, view) for an admin object page, or None."""
    match = ADMIN_OBJECT_ROUTE.match(route.route)
    if match is None:
        return None
    return f"{match['app']}.{match['model']}", match["view"]


def is_webhook(route: Route) -> bool:
    return route.route.startswith("webhooks/twilio/")


def uncovered(routes: list[Route]) -> list[str]:
    missing = []
    for route in routes:
        if not route.params or is_webhook(route):
            continue
        if route.name in ID_PARAMETERS:
            if set(ID_PARAMETERS[route.name]) != set(route.params):
                missing.append(
                    f"{route.label}: parameters {route.params} but the table says {ID_PARAMETERS[route.name]}"
                )
            continue
        found = admin_object(route)
        if found is not None:
            if found[0] not in ADMIN_MODELS:
                missing.append(f"{route.label}: admin model {found[0]} is not in ADMIN_MODELS")
            continue
        if route.route == ADMIN_CATCH_ALL:
            continue
        missing.append(f"{route.label}: parameters {route.params} are not described in ID_PARAMETERS")
    for model in admin.site._registry:
        if model._meta.label_lower not in ADMIN_MODELS:
            missing.append(f"admin model {model._meta.label_lower} is not in ADMIN_MODELS")
    return missing


# Two practices.


@dataclass
class Rows:
    """One practice's rows, by the names ID_PARAMETERS uses."""

    practice: Practice
    manager: object
    front_desk: object
    rows: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.rows[key]


def build_practice(tag: str, phone: str, *, word: str) -> Rows:
    """A practice with one (or more) of every row the console, the API, analytics and the admin show.

    Every name carries `tag`; patient words carry `tag` too, in the form "<tag>-PRACTICE-SECRET".
    """
    secret = f"{tag}-PRACTICE-SECRET"
    practice = PracticeFactory(name=f"{tag} Practice", brand_name=f"{tag} Aesthetics", min_notice_minutes=0)
    desk = build_desk(practice, phone=phone)
    location, service, provider = desk["location"], desk["service"], desk["provider"]
    patient, conversation = desk["patient"], desk["conversation"]
    type(patient).objects.filter(pk=patient.pk).update(first_name=f"{tag}PATIENT", last_name=word)
    type(location).objects.filter(pk=location.pk).update(name=f"{tag} Uptown {word}")
    type(service).objects.filter(pk=service.pk).update(name=f"{tag} HydraFacial", slug=f"{word.lower()}-hydra")
    type(provider).objects.filter(pk=provider.pk).update(first_name=f"{tag}PROVIDER", last_name=word)
    SeriesTemplate.objects.filter(pk=desk["enrollment"].template_id).update(name=f"{tag} Laser {word}")
    conversation.messages.update(body=f"{secret}: my lip looks white")
    FollowUpTask.objects.filter(pk=desk["task"].pk).update(reason=f"{secret}: call back")
    escalation = desk["escalation"]
    escalation.summary = {
        **escalation.summary,
        "name": f"{tag}PATIENT {word}",
        "phone": phone,
        "exact_words": f"{secret}: my lip looks white",
    }
    escalation.save(update_fields=["summary"])
    for row in (patient, location, service, provider):
        row.refresh_from_db()

    manager = StaffMemberFactory(
        practice=practice, role="manager", user__username=f"{tag}manager", phone="+19175550134"
    ).user
    front_desk = StaffMemberFactory(practice=practice, role="front_desk", user__username=f"{tag}desk").user
    # Escalation routing: a rule and a duty shift naming the manager (whose username carries the tag).
    RoutingRule.objects.create(
        practice=practice,
        category="complaint",
        location=location,
        service=service,
        staff_member=manager.staff_member,
        fallback=manager.staff_member,
    )
    DutyShift.objects.create(
        staff_member=manager.staff_member, location=location, weekday=2, starts_at=time(9), ends_at=time(17)
    )
    Token.objects.create(user=manager)
    number = practice.phone_numbers.get()
    campaign = Campaign.objects.create(
        practice=practice,
        name=f"{tag} Campaign",
        kind=Campaign.Kind.OFFER,
        starts_on=date(2026, 11, 1),
        ends_on=date(2026, 12, 31),
        offer_text=f"{secret} offer",
        source_code=f"{word.lower()}-spring",
    )
    tracking = PhoneNumberFactory(practice=practice, location=location, campaign=campaign, label=f"{tag} tracking")
    membership = Membership.objects.create(practice=practice, patient=patient, plan=f"{tag} Club")
    closure = Closure.objects.create(
        practice=practice,
        location=location,
        name=f"{tag} Closure",
        starts_on=date(2026, 12, 24),
        ends_on=date(2026, 12, 25),
    )
    resource = Resource.objects.create(practice=practice, location=location, name=f"{tag} Room", capacity=1)
    answer = ApprovedAnswer.objects.create(
        practice=practice, topic="parking", title=f"{tag} parking", answer=f"{secret} parking"
    )
    template = MessageTemplate.objects.create(practice=practice, key="text_back", body=f"{tag}: sorry we missed you")
    blocked = BlockedNumber.objects.create(practice=practice, phone="+19175550199", reason=f"{tag} spam")
    consent = consent_record(
        practice=practice,
        phone=phone,
        kind=ConsentEvent.Kind.OPT_IN,
        source=ConsentEvent.Source.STAFF,
        told=f"{secret} you're in",
        evidence=f"{tag} desk",
    )
    waitlisted = WaitlistEntry.objects.create(
        practice=practice,
        patient=patient,
        service=service,
        location=location,
        earliest_on=date(2026, 12, 3),
        latest_on=date(2026, 12, 20),
    )
    # Calls, text-backs, replies, a reminder, a campaign call: what analytics reads.
    book = Book(practice=practice, number=number)
    missed = book.call(phone, NOW - timedelta(days=3), missed="no_answer")
    book.text_back(missed, NOW - timedelta(days=3) + timedelta(seconds=5))
    inbound = book.inbound(phone, NOW - timedelta(days=3, minutes=-2), service=service.slug)
    Message.objects.filter(pk=inbound.pk).update(body=f"{secret}: do you have botox")
    # A picture the patient texted, stored (its bytes carry the secret too), on the escalation.
    photo = MessageMedia(practice=practice, message=inbound, index=0, content_type="image/png", escalation=escalation)
    photo.file.save("0.png", ContentFile(b"\x89PNG\r\n\x1a\n" + secret.encode()), save=False)
    photo.status = MessageMedia.Status.STORED
    photo.save()
    book.outbound(phone, NOW - timedelta(days=3, minutes=-3), kind="times_offered")
    # Someone texting from another number who gave this patient's name and date of birth.
    link_request = PatientLinkRequest.objects.create(
        practice=practice, conversation=conversation, phone="+19175550188", patient=patient
    )
    book.call(phone, NOW - timedelta(days=2), number=tracking, campaign=campaign)
    book.reminder(desk["appointment"], NOW - timedelta(hours=20))
    cancelled = AppointmentFactory(
        practice=practice,
        location=location,
        patient=patient,
        service=service,
        provider=provider,
        starts_at=datetime.combine(date(2026, 12, 9), time(11), NY),
        status=Appointment.Status.CANCELLED,
        cancellation_reason=f"{secret} cancel",
        cancelled_at=NOW - timedelta(days=1),
        created_at=NOW - timedelta(days=3),
        enrollment=desk["enrollment"],
        campaign=campaign,
        source="sms",
    )
    # Yesterday's visit, completed: its checkout page offers the next one.
    completed_visit = AppointmentFactory(
        practice=practice,
        location=location,
        patient=patient,
        service=service,
        provider=provider,
        starts_at=datetime.combine(NOW.date() - timedelta(days=1), time(11), NY),
        status=Appointment.Status.COMPLETED,
        completed_at=NOW - timedelta(days=1),
        source="sms",
    )
    escalations.escalation_add_note(escalation=escalation, user=manager, note=f"{secret} note")
    # The new patient's intake: acknowledged, submitted with words that call for a provider's review.
    acknowledgement = IntakeAcknowledgement.objects.create(practice=practice, title=f"{tag} consent", text=secret)
    intake_form = IntakeForm.objects.create(
        practice=practice,
        patient=patient,
        appointment=desk["appointment"],
        nonce=intake._nonce(),
        expires_at=desk["appointment"].starts_at,
    )
    forged_intake_link = intake.intake_token(intake_form).rsplit(":", 1)[0] + ":" + "A" * 43
    intake.intake_submit(
        form=intake_form,
        answers={
            "first_name": f"{tag}PATIENT",
            "medications": f"{secret} warfarin",
            "acknowledged": [{"id": acknowledgement.pk, "title": acknowledgement.title, "text": secret}],
        },
    )
    # The practice's own calendar (turned off, so nothing here reaches a network), a clash, a revoked feed.
    connection = CalendarConnection(
        practice=practice,
        name=f"{tag} calendar",
        provider=provider,
        server_url="https://caldav.invalid/",
        username=f"{tag}-user",
        is_active=False,
        last_error=f"{secret} calendar error",
    )
    connection.set_password(f"{secret} password")
    connection.save()
    EventTypeMapping.objects.create(practice=practice, pattern=f"{tag} tox", service=service)
    external = ExternalEvent.objects.create(
        practice=practice, connection=connection, href=f"/{tag}/event.ics", title=f"{secret} event"
    )
    conflict = CalendarConflict.objects.create(
        practice=practice,
        connection=connection,
        appointment=desk["appointment"],
        event=external,
        event_title=f"{secret} event",
    )
    feed = ProviderFeed.objects.create(practice=practice, provider=provider)
    revoked_feed_token = feed.token
    feed.token = new_feed_token()
    feed.save()
    rollups_compute(practice=practice, start=NOW.date() - timedelta(days=10), end=NOW.date())

    rows = {
        **desk,
        "practice": practice,
        "follow_up_task": desk["task"],
        "escalation": escalation,
        "campaign": campaign,
        "membership": membership,
        "closure": closure,
        "resource": resource,
        "answer": answer,
        "template": template,
        "blocked": blocked,
        "consent_event": consent,
        "waitlist": waitlisted,
        "cancelled": cancelled,
        "intake": intake_form,
        "forged_intake_link": forged_intake_link,
        "completed_visit": completed_visit,
        "link_request": link_request,
        "message_media": photo,
        "tracking": tracking,
        "calendar_connection": connection,
        "calendar_conflict": conflict,
        "revoked_feed_token": revoked_feed_token,
        "user": manager,
        "user_uidb64": urlsafe_base64_encode(force_bytes(manager.pk)),
    }
    return Rows(practice=practice, manager=manager, front_desk=front_desk, rows=rows)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def two_practices(db, clock):
    ours = build_practice("AAOURS", OURS_PHONE, word="Ourword")
    theirs = build_practice("ZZOTHER", THEIRS_PHONE, word=THEIR_SEARCH_WORD)
    # Practice B's manager looks at B's patient, so B has its own audit trail too (when views are audited).
    their_client = Client()
    their_client.force_login(theirs.manager)
    their_client.get(reverse("console-patient", args=[theirs["patient"].pk]))
    their_client.get(reverse("admin:practices_patient_change", args=[theirs["patient"].pk]))
    return ours, theirs


def admin_row(label: str, theirs: Rows):
    """The other practice's row of a registered admin model (a shared row for superuser-only models)."""
    model = apps.get_model(label)
    if ADMIN_MODELS[label] == TENANT:
        row = scope_to_practice(model._default_manager.all(), theirs.practice).order_by("pk").first()
        assert row is not None, f"build_practice makes no {label} row for the other practice: add one"
        return row
    if label == "auth.group":
        return Group.objects.order_by("pk").first()
    if label in ("auth.user", "authtoken.tokenproxy"):
        return theirs.manager
    return model._default_manager.order_by("pk").first()


def admin_rows(theirs: Rows) -> dict:
    return {
        model._meta.label_lower: admin_row(model._meta.label_lower, theirs)
        for model in admin.site._registry
        if ADMIN_MODELS.get(model._meta.label_lower) == TENANT
    }


def values_for(route: Route, theirs: Rows) -> list[dict]:
    """Every combination of the other practice's values for the route's parameters."""
    found = admin_object(route)
    if found is not None:
        row = admin_row(found[0], theirs)
        return [{"object_id": row.pk if row is not None else 1}]
    if route.route == ADMIN_CATCH_ALL:
        patient = theirs["patient"]
        return [{"url": f"practices/patient/{patient.pk}"}, {"url": f"practices/patient/{patient.pk}/change"}]
    table = ID_PARAMETERS[route.name]
    if table.get("content_type_id") == "admin_rows":
        return [
            {"content_type_id": ContentType.objects.get_for_model(row).pk, "object_id": row.pk}
            for row in admin_rows(theirs).values()
        ]
    if table.get("app_label") == "admin_app_labels":
        return [{"app_label": label} for label in sorted({m._meta.app_label for m in admin.site._registry})]
    combos = [{}]
    for param, meaning in table.items():
        if isinstance(meaning, list):
            options = meaning
        else:
            value = theirs[meaning]
            options = [value.pk if hasattr(value, "pk") else value]
        combos = [{**combo, param: option} for combo in combos for option in options]
    return combos


# Checking one answer.


def leaked(response, markers=THEIR_MARKERS) -> list[str]:
    body = b"".join(response) if response.streaming else response.content
    text = body.decode(errors="replace").lower()
    location = response.get("Location", "").lower()
    return [marker for marker in markers if marker.lower() in text or marker.lower() in location]


def refused(response, *, who: str, path: str) -> bool:
    status = response.status_code
    if status in (403, 404, 405):
        return True
    if status in (301, 302):
        target = response["Location"].split("?")[0]
        if target in LOGIN_PAGES and (who == "signed out" or path.startswith("/admin/")):
            return True
        if path.startswith("/admin/") and who == "manager":
            # The admin's "doesn't exist" redirect, the <id>/ -> <id>/change/ redirect, and the catch-all
            # adding a slash: none shows a row, and where they lead is swept in its own right.
            return target in ("/admin/", path + "change/", path + "/")
    return False


# What each special pattern may answer instead (status, and a check of the body).
def special_answer(route: Route, response, *, who: str) -> bool:
    status = response.status_code
    if route.name == "password_reset_confirm":
        # Django's "this link is invalid" page: nothing of the account, and no form to set a password.
        return status == 200 and b"new_password1" not in response.content
    if route.name == "analytics-export" and who == "manager":
        return status == 200 and response["Content-Type"].startswith("text/csv")
    if route.name == "admin:app_list" and who == "manager":
        return status == 200
    return False


@dataclass
class Sweep:
    who: str
    client: Client
    covered: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def ask(
        self,
        method: str,
        path: str,
        *,
        route: Route | None = None,
        data=None,
        accept: str = "",
        expect=None,
        markers=THEIR_MARKERS,
    ):
        extra = {"HTTP_ACCEPT": accept} if accept else {}
        send = self.client.get if method == "GET" else self.client.post
        response = send(path, data or {}, **extra)
        markers = leaked(response, markers)
        if markers:
            self.problems.append(f"{self.who} {method} {path}: {response.status_code} shows {markers}")
        elif expect is not None:
            if not expect(response):
                self.problems.append(f"{self.who} {method} {path}: unexpected {response.status_code}")
        elif not refused(response, who=self.who, path=path) and not (
            route is not None and special_answer(route, response, who=self.who)
        ):
            self.problems.append(f"{self.who} {method} {path}: {response.status_code}, not refused")
        return response


def signed_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def snapshot(practice: Practice) -> dict:
    """Every row of the practice in our apps, to show that nothing the sweep posted changed any of them."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label not in MANAGED_APPS:
            continue
        try:
            practice_lookup(model)
        except LookupError:
            continue
        rows = scope_to_practice(model._default_manager.all(), practice).order_by("pk").values()
        state[model._meta.label_lower] = [
            {key: value for key, value in row.items() if key not in ("updated_at",)} for row in rows
        ]
    return state


def sweep_ids(sweep: Sweep, theirs: Rows, *, post: bool = True) -> None:
    """Every pattern with a parameter, filled with the other practice's values: GET, then POST."""
    for route in all_routes():
        if not route.params or is_webhook(route):
            continue
        for values in values_for(route, theirs):
            path = fill(route, values)
            match = resolve(path)
            assert match.route == route.route.replace("^", ""), (path, match.route, route.route)
            sweep.covered.append(route.label)
            sweep.ask("GET", path, route=route)
            if path.startswith("/api/"):
                sweep.ask("GET", path, route=route, accept="text/html")  # DRF's browsable page, forms and all
            if post and route.name not in NEVER_POST:
                body = {"note": "x", "body": "x", "reason": "x", "outcome": "x", "post": "yes", "due_on": "2026-12-20"}
                sweep.ask("POST", path, route=route, data=body)
    if sweep.who == "manager":
        # Show the messages the admin queued ("... doesn't exist. Perhaps it was deleted?"): ids only.
        sweep.ask("GET", "/admin/", expect=lambda response: response.status_code == 200)


def sweep_lists(sweep: Sweep) -> None:
    """Every pattern without a parameter (lists, pages, the API's collections, admin changelists), GET."""
    for route in all_routes():
        if route.params or is_webhook(route):
            continue
        path = fill(route, {})
        sweep.covered.append(route.label)
        # /healthz answers 503 when the task queue's schedules have not run, which is its job in a test.
        healthy = (lambda response: response.status_code in (200, 503)) if path == "/healthz" else None
        sweep.ask("GET", path, expect=healthy or (lambda response: response.status_code < 500))
        if path.startswith("/api/"):
            sweep.ask("GET", path, accept="text/html", expect=lambda response: response.status_code < 500)
        if path.startswith("/admin/") and path.endswith("/") and admin_changelist(route):
            for query in (f"?q={THEIR_SEARCH_WORD}", "?_popup=1&_to_field=id", "?o=1"):
                sweep.ask("GET", path + query, expect=lambda response: response.status_code < 500)


def admin_changelist(route: Route) -> bool:
    return route.name.startswith("admin:") and route.name.endswith("_changelist")


# The tests.


def test_every_url_pattern_is_covered_by_the_sweep():
    routes = all_routes()
    missing = uncovered(routes)
    with_ids = [route for route in routes if route.params and not is_webhook(route)]
    lists = [route for route in routes if not route.params and not is_webhook(route)]
    webhooks = [route for route in routes if is_webhook(route)]
    report = "\n".join(
        [f"{len(routes)} URL patterns:", f"  {len(with_ids)} with parameters (swept with the other practice's values):"]
        + [f"    {route.label}" for route in with_ids]
        + [f"  {len(lists)} without (swept for the other practice's data):"]
        + [f"    {route.label}" for route in lists]
        + [f"  {len(webhooks)} Twilio webhooks (unsigned requests refused):"]
        + [f"    {route.label}" for route in webhooks]
    )
    print(report)
    assert not missing, "URL patterns the sweep does not know how to fill:\n" + "\n".join(missing)
    assert len(routes) == len(with_ids) + len(lists) + len(webhooks)
    # The sweep knows the project's shape: if these fail, the resolver walk lost something.
    names = {route.name for route in routes}
    assert {"console-patient", "api-escalation", "analytics-export", "admin:practices_patient_change"} <= names
    assert webhooks and len(with_ids) > 100


@pytest.mark.parametrize("who", ["manager", "front desk", "signed out"])
def test_another_practices_ids_are_refused_everywhere_and_show_nothing(two_practices, who):
    ours, theirs = two_practices
    user = {"manager": ours.manager, "front desk": ours.front_desk, "signed out": None}[who]
    before = snapshot(theirs.practice)
    sweep = Sweep(who=who, client=signed_in(user))
    sweep_ids(sweep, theirs)
    assert not sweep.problems, f"{len(sweep.problems)} problems:\n" + "\n".join(sweep.problems)
    assert snapshot(theirs.practice) == before, "a request with another practice's id changed its rows"
    assert len(set(sweep.covered)) == len([r for r in all_routes() if r.params and not is_webhook(r)])


@pytest.mark.parametrize("who", ["manager", "front desk", "signed out"])
def test_pages_and_lists_without_ids_never_show_another_practices_data(two_practices, who):
    ours, theirs = two_practices
    user = {"manager": ours.manager, "front desk": ours.front_desk, "signed out": None}[who]
    sweep = Sweep(who=who, client=signed_in(user))
    sweep_lists(sweep)
    assert not sweep.problems, f"{len(sweep.problems)} problems:\n" + "\n".join(sweep.problems)


def test_the_lists_do_show_the_managers_own_practice(two_practices):
    """So the sweep above cannot pass by showing nothing at all."""
    ours, _ = two_practices
    client = signed_in(ours.manager)
    for path in [
        "/console/",
        "/console/escalations/",
        "/console/callbacks/",
        "/console/conversations/",
        "/console/series/",
        f"/console/schedule/?date={NOW.date()}",
        "/api/v1/conversations/",
        "/api/v1/escalations/",
        f"/api/v1/appointments/?date={NOW.date()}",
        "/api/v1/series-enrollments/",
        "/admin/practices/patient/",
        "/admin/booking/appointment/",
        "/admin/escalations/escalation/",
        "/analytics/?start=2026-11-01&end=2026-12-02",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode().lower()
        assert OUR_MARKER.lower() in body or OURS_PHONE in body, path
        assert not leaked(response), path


# Patterns with no "own row" that a manager may open: a reset link, the admin's "view on site" (no model has
# a page), an app's index, and a user's password (auth is for superusers).
NO_OWN_ROW = {
    "password_reset_confirm",
    "admin:view_on_site",
    "admin:app_list",
    "admin:auth_user_password_change",
    "intake-form",  # the patient's page, opened by its link (tests/booking/test_intake.py), never by staff
    "calendar-feed",  # the table names a revoked token; a live one opens (tests/booking/test_caldav_feed_and_admin.py)
}


def test_the_managers_own_ids_open_so_the_refusals_mean_something(two_practices):
    """The same patterns with practice A's own ids are served to A's manager (not 403 or 404)."""
    ours, _ = two_practices
    client = signed_in(ours.manager)
    problems = []
    for route in all_routes():
        if not route.params or is_webhook(route) or route.name in NO_OWN_ROW or route.route == ADMIN_CATCH_ALL:
            continue
        found = admin_object(route)
        if found is not None:
            if ADMIN_MODELS[found[0]] != TENANT or found[1] != "change/" or found[0] == "practices.practice":
                continue  # the practice's own settings page: see the xfail below
            model = apps.get_model(found[0])
            row = scope_to_practice(model._default_manager.all(), ours.practice).order_by("pk").first()
            path = fill(route, {"object_id": row.pk})
            response = client.get(path)
            if response.status_code != 200:
                problems.append(f"GET {path}: {response.status_code}")
            continue
        for values in values_for(route, ours):
            if values.get("action") == "reschedule" or values.get("table") == "no-such-table":
                continue
            path = fill(route, values)
            response = client.get(path)
            if response.status_code == 405:
                response = client.post(path, {"note": "x", "body": "x", "reason": "x", "outcome": "x"})
            if response.status_code in (403, 404):
                problems.append(f"{path}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_a_manager_opens_their_own_practice_settings_in_the_admin(two_practices):
    ours, _ = two_practices
    response = signed_in(ours.manager).get(reverse("admin:practices_practice_change", args=[ours.practice.pk]))
    assert response.status_code == 200


def test_ids_in_query_strings_and_form_bodies_are_scoped_too(two_practices):
    ours, theirs = two_practices
    sweep = Sweep(who="manager", client=signed_in(ours.manager))
    bad_request = lambda response: response.status_code in (400, 404)  # noqa: E731
    shown = lambda response: response.status_code == 200  # noqa: E731
    start = datetime.combine(NOW.date() + timedelta(days=1), time(11), NY).isoformat()
    our_slot = f"{start}|{ours['provider'].pk}"

    # The console: another practice's location, service, provider or visit in a form or a query.
    sweep.ask("GET", f"/console/schedule/?location={theirs['location'].pk}", expect=shown)
    sweep.ask(
        "GET",
        f"/console/schedule/book/?location={theirs['location'].pk}&service={theirs['service'].pk}"
        f"&reschedule={theirs['appointment'].pk}&date={NOW.date()}",
        expect=shown,
    )
    sweep.ask(
        "GET",
        f"/console/schedule/book/?service={theirs['service'].pk}",
        accept="text/html",
        expect=shown,
    )
    for data in [
        {"service": theirs["service"].pk, "location": ours["location"].pk, "slot": our_slot},
        {"service": ours["service"].pk, "location": theirs["location"].pk, "slot": our_slot},
        {
            "service": ours["service"].pk,
            "location": ours["location"].pk,
            "slot": f"{start}|{theirs['provider'].pk}",
        },
        {
            "service": ours["service"].pk,
            "location": ours["location"].pk,
            "slot": our_slot,
            "reschedule": theirs["appointment"].pk,
        },
    ]:
        sweep.ask(
            "POST",
            "/console/schedule/book/confirm/",
            data={**data, "phone": THEIRS_PHONE},
            expect=lambda response: response.status_code == 404,
        )
    # The API: another practice's ids as filters and as the parts of a booking.
    service, location, provider, patient = (ours[key].pk for key in ("service", "location", "provider", "patient"))
    for query in [
        f"service={theirs['service'].pk}",
        f"service={THEIR_SEARCH_WORD.lower()}-hydra",
        f"service={service}&location={theirs['location'].pk}",
        f"service={service}&provider={theirs['provider'].pk}",
        f"service={service}&patient={theirs['patient'].pk}",
    ]:
        sweep.ask("GET", f"/api/v1/availability/?{query}", expect=bad_request)
    for query in [f"location={theirs['location'].pk}", f"provider={theirs['provider'].pk}"]:
        sweep.ask("GET", f"/api/v1/appointments/?date={NOW.date()}&{query}", expect=bad_request)
    booking = {"patient": patient, "service": service, "location": location, "provider": provider, "starts_at": start}
    for key in ("patient", "service", "location", "provider"):
        sweep.ask(
            "POST",
            "/api/v1/appointments/",
            data={**booking, key: theirs[key].pk},
            expect=lambda response: response.status_code == 400,
        )
    sweep.ask(
        "POST",
        f"/api/v1/appointments/{ours['appointment'].pk}/reschedule/",
        data={"starts_at": start, "provider": theirs["provider"].pk},
        expect=lambda response: response.status_code == 400,
    )
    # Analytics: another practice's location, service or campaign as a filter.
    for query in [f"location={theirs['location'].pk}", f"service={theirs['service'].pk}"]:
        sweep.ask("GET", f"/analytics/?{query}", expect=bad_request)
        sweep.ask("GET", f"/api/v1/analytics/summary/?{query}", expect=bad_request)
        sweep.ask("GET", f"/analytics/export/campaigns.csv?{query}", expect=bad_request)
        sweep.ask("GET", f"/analytics/quality/?{query}", expect=bad_request)
        sweep.ask("GET", f"/api/v1/analytics/quality/?{query}", expect=bad_request)
    their_source = theirs["campaign"].source_code
    sweep.ask("GET", f"/analytics/?source={their_source}&start=2026-11-01&end=2026-12-02", expect=shown)
    sweep.ask("GET", f"/api/v1/analytics/summary/?source={their_source}", expect=shown)
    sweep.ask("GET", f"/analytics/quality/?source={their_source}&start=2026-11-01&end=2026-12-02", expect=shown)
    sweep.ask("GET", f"/analytics/export/campaigns.csv?source={their_source}", expect=shown)
    sweep.ask("GET", "/analytics/export/cancellations.csv?start=2026-11-01&end=2026-12-31", expect=shown)
    assert not sweep.problems, "\n".join(sweep.problems)


def test_the_admins_autocomplete_and_raw_id_popups_offer_only_the_managers_practice(two_practices):
    ours, theirs = two_practices
    sweep = Sweep(who="manager", client=signed_in(ours.manager))
    asked = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            for term in ("", "ZZOTHER", THEIR_SEARCH_WORD):
                query = {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field_name,
                    "term": term,
                }
                response = sweep.ask(
                    "GET",
                    reverse("admin:autocomplete") + "?" + "&".join(f"{k}={v}" for k, v in query.items()),
                    expect=lambda response: response.status_code in (200, 403),
                )
                asked.append(f"autocomplete {model._meta.label_lower}.{field_name}")
                if response.status_code == 200:
                    texts = [item["text"] for item in json.loads(response.content)["results"]]
                    assert not any("zzother" in text.lower() for text in texts), (query, texts)
        for field_name in model_admin.raw_id_fields:
            related = model._meta.get_field(field_name).remote_field.model
            if related not in admin.site._registry:
                continue
            url = reverse(f"admin:{related._meta.app_label}_{related._meta.model_name}_changelist")
            for query in ("?_to_field=id&_popup=1", f"?_to_field=id&_popup=1&q={THEIR_SEARCH_WORD}"):
                sweep.ask("GET", url + query, expect=lambda response: response.status_code in (200, 403))
            asked.append(f"raw id {model._meta.label_lower}.{field_name}")
    # The autocomplete view also refuses to name another practice's row when asked for the field of a row.
    their_patient = theirs["patient"]
    sweep.ask(
        "GET",
        reverse("admin:autocomplete")
        + f"?app_label=practices&model_name=patient&field_name=home_location&term={their_patient.last_name}",
        expect=lambda response: response.status_code == 200,
    )
    assert asked, "no autocomplete or raw-id field was swept"
    assert not sweep.problems, "\n".join(sweep.problems)


def test_the_simulator_only_ever_uses_the_signed_in_practices_numbers_and_threads(two_practices, settings):
    settings.DEMO_MODE = True
    ours, theirs = two_practices
    before = snapshot(theirs.practice)
    their_number = theirs["tracking"].number
    # The simulator is asked for B's patient's phone on purpose, so the phone itself is not a leak here:
    # B's thread (its words, its names) would be.
    words_and_names = ["ZZOTHER", "OTHER-PRACTICE-SECRET"]
    for user, who in ((ours.manager, "manager"), (ours.front_desk, "front desk")):
        sweep = Sweep(who=who, client=signed_in(user))
        shown = lambda response: response.status_code == 200  # noqa: E731
        moved_on = lambda response: response.status_code == 302  # noqa: E731
        page = f"/simulator/?number={their_number}&phone={THEIRS_PHONE}"
        sweep.ask("GET", page, expect=shown, markers=words_and_names)
        data = {"number": their_number, "phone": THEIRS_PHONE, "body": "hello"}
        sweep.ask("POST", "/simulator/text/", data=data, expect=moved_on, markers=words_and_names)
        sweep.ask("POST", "/simulator/call/", data=data, expect=moved_on, markers=words_and_names)
        response = sweep.ask("GET", page, expect=shown, markers=words_and_names)
        assert their_number not in response.content.decode(), "the simulator offered another practice's number"
        assert not sweep.problems, "\n".join(sweep.problems)
    assert snapshot(theirs.practice) == before
    # What the simulator sent went to practice A, as A's own thread.
    assert Message.objects.filter(practice=ours.practice, conversation__phone=THEIRS_PHONE, body="hello").exists()


@pytest.mark.parametrize("route", [r for r in all_routes() if is_webhook(r)], ids=lambda r: r.name)
def test_every_twilio_webhook_refuses_an_unsigned_request(client, db, route):
    path = fill(route, {})
    params = {"From": THEIRS_PHONE, "To": "+12125550100", "Body": "hi", "CallSid": "CA1", "MessageSid": "SM1"}
    assert client.post(path, params).status_code == 403
    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403
    assert client.get(path).status_code in (403, 405)


def test_every_tenant_model_in_the_table_has_a_path_to_a_practice():
    for label, kind in ADMIN_MODELS.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue  # listed ahead of its admin (or of its app)
        if kind == TENANT:
            assert practice_lookup(model), label
