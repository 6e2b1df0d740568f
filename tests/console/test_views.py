"""Every console page and action: scoped to the practice, permissioned, changing what it says."""

from datetime import timedelta

import pytest
from django.urls import reverse

from booking.models import Appointment, FollowUpTask
from calls.messaging import backends
from calls.models import Conversation, Outreach
from escalations.models import Escalation
from tests.console.conftest import build_desk

PAGES = [
    "console-home",
    "console-escalations",
    "console-callbacks",
    "console-conversations",
    "console-schedule",
    "console-series",
    "console-book",
]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_staff_and_escapes_what_patients_wrote(staff_client, desk, name):
    response = staff_client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<b>my lip looks white</b>" not in body


def test_detail_pages_render(staff_client, desk):
    conversation = staff_client.get(reverse("console-conversation", args=[desk["conversation"].pk]))
    assert "&lt;b&gt;my lip looks white&lt;/b&gt;" in conversation.content.decode()
    patient = staff_client.get(reverse("console-patient", args=[desk["patient"].pk])).content.decode()
    assert "•••-•••-0188" in patient and "+16465550188" not in patient
    reveal = staff_client.get(reverse("console-patient-phone", args=[desk["patient"].pk])).content.decode()
    assert "+16465550188" in reveal


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_a_signed_in_staff_member(client, desk, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_user_without_a_practice_is_refused(client, django_user_model, desk):
    client.force_login(django_user_model.objects.create_user("loner", password="a-long-password-1"))
    assert client.get(reverse("console-home")).status_code == 403


def _urls_with_ids(other):
    return [
        ("get", reverse("console-conversation", args=[other["conversation"].pk])),
        ("get", reverse("console-patient", args=[other["patient"].pk])),
        ("get", reverse("console-patient-phone", args=[other["patient"].pk])),
        ("post", reverse("console-escalation-claim", args=[other["escalation"].pk])),
        ("post", reverse("console-escalation-note", args=[other["escalation"].pk])),
        ("post", reverse("console-escalation-resolve", args=[other["escalation"].pk])),
        ("post", reverse("console-callback-done", args=[other["task"].pk])),
        ("post", reverse("console-series-prompt", args=[other["enrollment"].pk])),
        ("post", reverse("console-series-follow-up", args=[other["enrollment"].pk])),
        ("post", reverse("console-conversation-take-over", args=[other["conversation"].pk])),
        ("post", reverse("console-conversation-hand-back", args=[other["conversation"].pk])),
        ("post", reverse("console-conversation-reply", args=[other["conversation"].pk])),
        *[
            ("post", reverse("console-appointment-action", args=[other["appointment"].pk, action]))
            for action in ("check_in", "complete", "no_show", "cancel", "confirm")
        ],
    ]


def test_another_practices_ids_are_404_in_every_url(staff_client, desk, other_desk):
    for method, url in _urls_with_ids(other_desk):
        response = getattr(staff_client, method)(url, {"note": "x", "body": "hi", "outcome": "x"})
        assert response.status_code == 404, url
    other_desk["escalation"].refresh_from_db()
    other_desk["appointment"].refresh_from_db()
    assert other_desk["escalation"].status == "open" and other_desk["appointment"].status == "booked"
    for name in PAGES:
        body = staff_client.get(reverse(name)).content.decode()
        assert "0177" not in body, name


def test_booking_with_another_practices_provider_or_service_is_404(staff_client, desk, other_desk):
    start = desk["appointment"].starts_at.isoformat()
    response = staff_client.post(
        reverse("console-book-confirm"),
        {
            "service": other_desk["service"].pk,
            "location": desk["location"].pk,
            "slot": f"{start}|{desk['provider'].pk}",
            "phone": "+16465550100",
        },
    )
    assert response.status_code == 404
    response = staff_client.post(
        reverse("console-book-confirm"),
        {
            "service": desk["service"].pk,
            "location": desk["location"].pk,
            "slot": f"{start}|{other_desk['provider'].pk}",
            "phone": "+16465550100",
        },
    )
    assert response.status_code == 404


def test_claim_note_and_resolve_an_escalation(staff_client, staff, desk):
    escalation = desk["escalation"]
    staff_client.post(reverse("console-escalation-claim", args=[escalation.pk]))
    staff_client.post(reverse("console-escalation-note", args=[escalation.pk]), {"note": "Calling her now"})
    response = staff_client.post(
        reverse("console-escalation-resolve", args=[escalation.pk]),
        {"note": "Came in, hyaluronidase given"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "Resolved: Came in" in response.content.decode()
    escalation.refresh_from_db()
    assert (escalation.status, escalation.claimed_by, escalation.resolution_note) == (
        "resolved",
        staff,
        "Came in, hyaluronidase given",
    )
    assert escalation.notes[0]["text"] == "Calling her now"


def test_resolving_needs_a_note(staff_client, desk):
    staff_client.post(reverse("console-escalation-resolve", args=[desk["escalation"].pk]), {"note": " "})
    assert Escalation.objects.get(pk=desk["escalation"].pk).status == "open"


def test_a_callback_is_done_with_its_outcome(staff_client, desk):
    response = staff_client.post(
        reverse("console-callback-done", args=[desk["task"].pk]), {"outcome": "Booked for Friday"}
    )
    assert response.status_code == 302
    task = FollowUpTask.objects.get(pk=desk["task"].pk)
    assert (task.status, task.outcome) == ("done", "Booked for Friday")


def test_take_over_reply_and_hand_back(staff_client, staff, desk, django_capture_on_commit_callbacks):
    conversation = desk["conversation"]
    backends.outbox.clear()
    staff_client.post(reverse("console-conversation-take-over", args=[conversation.pk]))
    assert Conversation.objects.get(pk=conversation.pk).taken_over_by == staff
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("console-conversation-reply", args=[conversation.pk]),
            {"body": "Hi Olivia, this is Riley. Can you send a photo?"},
        )
    outreach = Outreach.objects.get(kind="staff_reply")
    assert outreach.sent_by == staff and outreach.state == "sent"
    sent = backends.outbox[-1]
    assert "Hi Olivia, this is Riley. Can you send a photo?" in sent.body
    assert sent.from_.startswith("+1") and outreach.message.sender == "staff"
    staff_client.post(reverse("console-conversation-hand-back", args=[conversation.pk]))
    conversation.refresh_from_db()
    assert conversation.taken_over_by is None and conversation.state == "greeting"


def test_an_empty_reply_is_refused_with_a_message(staff_client, desk):
    response = staff_client.post(
        reverse("console-conversation-reply", args=[desk["conversation"].pk]), {"body": "  "}, follow=True
    )
    assert "Write a reply first." in response.content.decode()
    assert not Outreach.objects.filter(kind="staff_reply").exists()


@pytest.mark.parametrize(
    ("actions", "status"),
    [
        (["check_in", "complete"], "completed"),
        (["no_show"], "no_show"),
        (["cancel"], "cancelled"),
        (["confirm"], "confirmed"),
    ],
)
def test_visit_actions_from_the_schedule(staff_client, desk, actions, status):
    for action in actions:
        staff_client.post(reverse("console-appointment-action", args=[desk["appointment"].pk, action]))
    assert Appointment.objects.get(pk=desk["appointment"].pk).status == status


def test_a_wrong_transition_says_why(staff_client, desk):
    url = reverse("console-appointment-action", args=[desk["appointment"].pk, "complete"])
    staff_client.post(url)
    response = staff_client.post(
        reverse("console-appointment-action", args=[desk["appointment"].pk, "cancel"]), follow=True
    )
    assert "cannot be cancelled" in response.content.decode()


def test_completing_a_series_visit_advances_the_series(staff_client, desk):
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=desk["enrollment"])
    staff_client.post(reverse("console-appointment-action", args=[desk["appointment"].pk, "check_in"]))
    staff_client.post(reverse("console-appointment-action", args=[desk["appointment"].pk, "complete"]))
    desk["enrollment"].refresh_from_db()
    assert desk["enrollment"].visits_done == 3 and desk["enrollment"].status == "on_cadence"


def test_the_slot_picker_offers_engine_times_and_books_one(staff_client, desk):
    day = desk["today"] + timedelta(days=1)
    picker = staff_client.get(
        reverse("console-book"),
        {"service": desk["service"].pk, "location": desk["location"].pk, "date": day.isoformat()},
        HTTP_HX_REQUEST="true",
    )
    body = picker.content.decode()
    assert 'name="slot"' in body and "9:00 AM" in body
    value = body.split('name="slot" value="')[1].split('"')[0]
    response = staff_client.post(
        reverse("console-book-confirm"),
        {
            "service": desk["service"].pk,
            "location": desk["location"].pk,
            "slot": value,
            "phone": "(212) 555-0199",
            "first_name": "Nora",
        },
    )
    assert response.status_code == 302
    booked = Appointment.objects.get(patient__phone="+12125550199")
    assert booked.source == "staff" and booked.local_start.date() == day
    again = staff_client.post(
        reverse("console-book-confirm"),
        {
            "service": desk["service"].pk,
            "location": desk["location"].pk,
            "slot": value,
            "phone": "+12125550198",
        },
        follow=True,
    )
    assert "not open" in again.content.decode() or "taken" in again.content.decode()


def test_rescheduling_from_the_schedule_moves_the_visit(staff_client, desk):
    day = desk["today"] + timedelta(days=2)
    picker = staff_client.get(
        reverse("console-book"),
        {
            "service": desk["service"].pk,
            "location": desk["location"].pk,
            "date": day.isoformat(),
            "reschedule": desk["appointment"].pk,
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    value = picker.split('name="slot" value="')[1].split('"')[0]
    staff_client.post(
        reverse("console-book-confirm"),
        {
            "service": desk["service"].pk,
            "location": desk["location"].pk,
            "slot": value,
            "reschedule": desk["appointment"].pk,
        },
    )
    assert Appointment.objects.get(pk=desk["appointment"].pk).local_start.date() == day


def _book_from_the_console(staff_client, desk, day, **extra):
    picker = staff_client.get(
        reverse("console-book"),
        {"service": desk["service"].pk, "location": desk["location"].pk, "date": day.isoformat(), **extra},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    value = picker.split('name="slot" value="')[1].split('"')[0]
    form = {"service": desk["service"].pk, "location": desk["location"].pk, "slot": value, **extra}
    return staff_client.post(reverse("console-book-confirm"), form)


def test_a_visit_booked_or_moved_at_the_desk_gets_its_reminders_for_its_time(staff_client, desk):
    _book_from_the_console(staff_client, desk, desk["today"] + timedelta(days=4), phone="+12125550177")
    visit = Appointment.objects.get(patient__phone="+12125550177")
    reminders = Outreach.objects.filter(appointment=visit, kind="reminder", state="pending")
    assert sorted(r.due_at for r in reminders) == [
        visit.starts_at - timedelta(hours=48),
        visit.starts_at - timedelta(hours=2),
    ]
    assert {r.phone for r in reminders} == {"+12125550177"}

    _book_from_the_console(staff_client, desk, desk["today"] + timedelta(days=6), reschedule=visit.pk)
    visit.refresh_from_db()
    assert visit.local_start.date() == desk["today"] + timedelta(days=6)
    assert sorted(r.due_at for r in Outreach.objects.filter(appointment=visit, kind="reminder", state="pending")) == [
        visit.starts_at - timedelta(hours=48),
        visit.starts_at - timedelta(hours=2),
    ]
    stopped = Outreach.objects.filter(appointment=visit, kind="reminder", state="cancelled")
    assert stopped.count() == 2 and {r.state_reason for r in stopped} == {"visit moved"}


def test_series_actions(staff_client, desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("console-series-prompt", args=[desk["enrollment"].pk]), HTTP_HX_REQUEST="true"
        )
    assert "Rebooking prompt sent." in response.content.decode()
    assert Outreach.objects.filter(kind="rebook").count() == 1
    staff_client.post(reverse("console-series-follow-up", args=[desk["enrollment"].pk]), {"due_on": "2027-01-05"})
    task = FollowUpTask.objects.get(kind="not_ready")
    assert task.due_on.isoformat() == "2027-01-05" and task.enrollment == desk["enrollment"]


def test_counts_fragment_reports_the_queues(staff_client, desk):
    body = staff_client.get(reverse("console-counts")).content.decode()
    assert 'data-count="escalations" aria-label="1 open">1<' in body
    assert 'data-count="callbacks" aria-label="1 open">1<' in body
    assert 'data-count="series" aria-label="1 due or late">1<' in body


@pytest.mark.parametrize(
    "name", ["console-escalations", "console-callbacks", "console-conversations", "console-series"]
)
def test_queue_pages_use_a_fixed_number_of_queries(staff_client, desk, name, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        staff_client.get(reverse(name))
    for n in range(5):
        build_desk(desk["practice"], phone=f"+1646555{2100 + n:04d}")
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(reverse(name))
    assert response.status_code == 200
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_pages_load_nothing_from_the_internet(staff_client, desk):
    import re

    body = staff_client.get(reverse("console-home")).content.decode()
    external = [u for u in re.findall(r'(?:src|href)="([^"]+)"', body) if u.startswith(("http", "//"))]
    assert external == []


def test_an_htmx_action_tells_the_page_to_refresh_the_counts(staff_client, desk):
    response = staff_client.post(
        reverse("console-escalation-claim", args=[desk["escalation"].pk]), HTTP_HX_REQUEST="true"
    )
    assert "queues-changed" in response["HX-Trigger"]


def test_the_series_queue_lists_late_then_due_then_due_soon(staff_client, desk):
    from datetime import timedelta

    from booking.models import SeriesEnrollment
    from tests.factories import PatientFactory

    today = desk["today"]
    template = desk["enrollment"].template
    for name, status, opens in [("Dora", "due", -2), ("Sana", "on_cadence", 5), ("Far", "on_cadence", 40)]:
        SeriesEnrollment.objects.create(
            practice=desk["practice"],
            template=template,
            status=status,
            patient=PatientFactory(practice=desk["practice"], first_name=name),
            next_due_from=today + timedelta(days=opens),
            next_due_until=today + timedelta(days=opens + 14),
        )
    body = staff_client.get(reverse("console-series")).content.decode()
    assert body.index("Olivia") < body.index("Dora") < body.index("Sana")
    assert "Far" not in body and "16 days late" in body


def test_the_booking_page_works_without_javascript(staff_client, desk):
    day = desk["today"] + timedelta(days=1)
    body = staff_client.get(
        reverse("console-book"),
        {"service": desk["service"].pk, "location": desk["location"].pk, "date": day.isoformat()},
    ).content.decode()
    assert "<html" in body and 'name="slot"' in body and 'action="/console/schedule/book/confirm/"' in body


def test_long_queues_show_the_most_urgent_hundred_and_the_total(staff_client, desk):
    from datetime import timedelta

    from booking.models import FollowUpTask, SeriesEnrollment
    from tests.factories import PatientFactory

    today = desk["today"]
    patients = [PatientFactory(practice=desk["practice"]) for _ in range(105)]
    SeriesEnrollment.objects.bulk_create(
        SeriesEnrollment(
            practice=desk["practice"],
            patient=p,
            template=desk["enrollment"].template,
            status="due",
            next_due_from=today - timedelta(days=1),
            next_due_until=today + timedelta(days=5),
        )
        for p in patients
    )
    FollowUpTask.objects.bulk_create(
        FollowUpTask(practice=desk["practice"], patient=p, kind="callback", due_on=today, reason="call")
        for p in patients
    )
    series = staff_client.get(reverse("console-series")).content.decode()
    assert "the 100 most urgent of 106" in series
    assert series.index("Olivia") < series.index(patients[0].first_name)  # the late one leads
    callbacks = staff_client.get(reverse("console-callbacks")).content.decode()
    assert "the 100 due first of 106" in callbacks


def test_conversations_list_newest_activity_first_and_unanswered_threads_last(staff_client, desk):
    from datetime import timedelta

    from django.utils import timezone

    from calls.models import BY_ACTIVITY, Conversation

    now = timezone.now()
    Conversation.objects.create(practice=desk["practice"], phone="+16465550101", channel="sms")  # never answered
    Conversation.objects.create(
        practice=desk["practice"], phone="+16465550102", channel="sms", last_inbound_at=now + timedelta(minutes=5)
    )
    rows = staff_client.get(reverse("console-conversations"), HTTP_HX_REQUEST="true").content.decode()
    newest, older = rows.index("/console/conversations/"), rows.rindex("/console/conversations/")
    assert newest < older
    conversations = list(Conversation.objects.filter(practice=desk["practice"]).order_by(*BY_ACTIVITY))
    assert conversations[0].phone == "+16465550102" and conversations[-1].phone == "+16465550101"
