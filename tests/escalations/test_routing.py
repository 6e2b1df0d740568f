"""Service-aware routing: the manager's rules and duty shifts decide who hears of an escalation first,
through the real signed SMS and voice webhooks."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from calls.models import Outreach
from calls.tasks import outreach_sweep
from escalations.models import DutyShift, Escalation, RoutingRule
from practices.models import StaffMember
from tests.calls.conftest import fixture
from tests.factories import (
    BusinessHoursFactory,
    LocationFactory,
    PhoneNumberFactory,
    PracticeFactory,
    ServiceFactory,
    StaffMemberFactory,
)

SMS = "/webhooks/twilio/sms/"
VOICE = "/webhooks/twilio/voice/"
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")
WEDNESDAY = 2  # 2 December 2026, the day the calls tests' clock stands on

WORDS = {
    "emergency": "my lip looks purple since the filler yesterday",
    "clinical_filler": "is it safe to get lip filler while breastfeeding?",
    "clinical_botox": "is it safe to get botox while breastfeeding?",
    "human_request": "can I talk to someone please",
    "complaint": "I'm really not happy with how I was treated at the front desk",
    "exception": "can I get a refund for my package",
}


def person(practice, first: str, role: str, phone: str, **fields) -> StaffMember:
    return StaffMemberFactory(
        practice=practice, role=role, phone=phone, user__first_name=first, user__last_name="Staff", **fields
    )


def on_duty(staff, start: int, end: int, *, location=None, weekday=WEDNESDAY) -> DutyShift:
    return DutyShift.objects.create(
        staff_member=staff, location=location, weekday=weekday, starts_at=time(start), ends_at=time(end)
    )


@pytest.fixture
def team(line):
    """Glow's menu, people, duty shifts and routing rules, as a manager would set them up."""
    practice, location = line.practice, line.location
    botox = ServiceFactory(practice=practice, name="Botox", slug="botox", synonyms=["tox"])
    filler = ServiceFactory(practice=practice, name="Lip filler", slug="lip-filler", synonyms=["lip filler", "filler"])
    joe = person(practice, "Joe", "clinical", "+19175550101")
    kim = person(practice, "Kim", "clinical", "+19175550102")
    mia = person(practice, "Mia", "manager", "+19175550103")
    dana = person(practice, "Dana", "front_desk", "+19175550104")
    olga = person(practice, "Olga", "owner", "+19175550105")  # no shifts: never on duty
    on_duty(joe, 9, 19, location=location)
    on_duty(kim, 9, 17)  # no location: every location, in the practice's time
    on_duty(mia, 9, 19)
    on_duty(dana, 9, 19, location=location)
    other = LocationFactory(practice=practice, name="Uptown")
    rule = RoutingRule.objects.create
    rule(practice=practice, category="clinical", service=filler, staff_member=kim, fallback=mia)
    rule(practice=practice, category="clinical", role="clinical")
    rule(practice=practice, category="clinical", location=other, staff_member=dana)  # another location's
    rule(practice=practice, category="emergency", role="clinical", fallback=mia)
    rule(practice=practice, category="human_request", role="front_desk")
    rule(practice=practice, category="complaint", role="manager")
    rule(practice=practice, category="exception", role="manager")
    rule(practice=practice, category="exception", role="owner", is_active=False)  # switched off
    return {
        "joe": joe,
        "kim": kim,
        "mia": mia,
        "dana": dana,
        "olga": olga,
        "botox": botox,
        "filler": filler,
        "practice": practice,
    }


def text(twilio, body: str, n: int = 1, **overrides):
    sid = f"SM{n:032d}"
    return twilio(SMS, fixture("sms_inbound", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, **overrides))


def at_local(clock, hour: int, minute: int = 0, zone=NY):
    clock.move_to(datetime(2026, 12, 2, hour, minute, tzinfo=zone))


def staff_texts(outbox, team) -> list[str]:
    """Which staff members got a text, by first name (in the order they were sent)."""
    names = {member.phone: member.user.first_name for key, member in team.items() if isinstance(member, StaffMember)}
    return [names[sent.to] for sent in outbox if sent.to in names]


@pytest.mark.parametrize(
    ("words", "category", "who", "note"),
    [
        ("emergency", "emergency", "joe", "Emergency about Lip filler -> Joe Staff (on duty)"),
        ("clinical_filler", "clinical", "kim", "Clinical question about Lip filler -> Kim Staff (on duty)"),
        ("clinical_botox", "clinical", "joe", "Clinical question about Botox -> Joe Staff (on duty)"),
        ("human_request", "human_request", "dana", "Asked for a person -> Dana Staff (on duty)"),
        ("complaint", "complaint", "mia", "Complaint -> Mia Staff (on duty)"),
        ("exception", "exception", "mia", "Exception (refund, discount, waiver) -> Mia Staff (on duty)"),
    ],
)
def test_each_category_goes_first_to_the_person_or_role_the_manager_configured(
    team, twilio, outbox, words, category, who, note
):
    text(twilio, WORDS[words])
    escalation = Escalation.objects.get()
    assert escalation.category == category
    assert escalation.routed_to == team[who]
    assert escalation.routing_note == note
    # Only the routed person hears at once; the patient's words are in nobody's alert.
    assert staff_texts(outbox, team) == [team[who].user.first_name]
    alert = next(sent for sent in outbox if sent.to == team[who].phone)
    assert "routed to you" in alert.body and WORDS[words] not in alert.body
    waiting = Outreach.objects.filter(kind="staff_alert", state="pending")
    assert {row.phone for row in waiting} == {
        member.phone for key, member in team.items() if isinstance(member, StaffMember) and key != who
    }


def test_the_most_specific_rule_wins_and_ties_go_to_the_older_rule(team, line, twilio, outbox):
    practice = team["practice"]
    # Named person + location + service + category beats everything else that matches.
    specific = RoutingRule.objects.create(
        practice=practice, category="clinical", service=team["botox"], location=line.location, staff_member=team["mia"]
    )
    RoutingRule.objects.create(practice=practice, role="owner")  # practice-wide, any category
    text(twilio, WORDS["clinical_botox"], n=1)
    assert Escalation.objects.get().routed_to == team["mia"]

    # The service counts before the location: "clinical about Botox -> Kim" beats "clinical here -> Dana".
    specific.delete()
    by_service = RoutingRule.objects.create(
        practice=practice, category="clinical", service=team["botox"], staff_member=team["kim"]
    )
    by_location = RoutingRule.objects.create(
        practice=practice, category="clinical", location=line.location, staff_member=team["dana"]
    )
    text(twilio, WORDS["clinical_botox"], n=2, From="+16465550199")
    assert Escalation.objects.filter(conversation__phone="+16465550199").get().routed_to == team["kim"]

    # Two rules as specific as each other ("clinical -> nurses" and a newer "clinical -> managers"): the older.
    by_service.delete()
    by_location.delete()
    RoutingRule.objects.create(practice=practice, category="clinical", role="manager")
    text(twilio, WORDS["clinical_botox"], n=3, From="+16465550177")
    assert Escalation.objects.filter(conversation__phone="+16465550177").get().routed_to == team["joe"]


def test_nobody_on_duty_goes_to_the_rules_fallback_then_the_practices_then_everyone(team, twilio, outbox, clock):
    practice = team["practice"]
    # 17:30: Kim's shift is over; her rule's fallback (Mia) gets the lip filler question.
    at_local(clock, 17, 30)
    text(twilio, WORDS["clinical_filler"], n=1)
    first = Escalation.objects.get()
    assert first.routed_to == team["mia"]
    assert first.routing_note == "Clinical question about Lip filler -> Mia Staff (fallback: nobody named is on duty)"

    # 19:30: no nurse on duty (Joe's Thursday evening shift is not today's) and the role rule has no
    # fallback: the practice's fallback (Olga).
    on_duty(team["joe"], 19, 23, weekday=WEDNESDAY + 1)
    practice.routing_fallback = team["olga"]
    practice.save(update_fields=["routing_fallback"])
    at_local(clock, 19, 30)
    text(twilio, WORDS["clinical_botox"], n=2, From="+16465550199")
    second = Escalation.objects.exclude(pk=first.pk).get()
    assert second.routed_to == team["olga"]
    assert second.routing_note == (
        "Clinical question about Botox -> Olga Staff (practice fallback: nobody named is on duty)"
    )

    # Without a practice fallback: nobody routed, everyone who receives alerts hears at once.
    practice.routing_fallback = None
    practice.save(update_fields=["routing_fallback"])
    outbox.clear()
    text(twilio, WORDS["clinical_botox"], n=3, From="+16465550177")
    third = Escalation.objects.exclude(pk__in=[first.pk, second.pk]).get()
    assert third.routed_to is None
    assert (
        third.routing_note == "Clinical question about Botox -> everyone who receives alerts (nobody named is on duty)"
    )
    assert sorted(staff_texts(outbox, team)) == ["Dana", "Joe", "Kim", "Mia", "Olga"]
    assert not Outreach.objects.filter(purpose=f"escalation:{third.pk}").exists()  # nothing held back


def test_a_practice_with_no_rules_alerts_everyone_at_once_as_before(line, twilio, outbox):
    StaffMemberFactory(practice=line.practice, role="manager", phone="+19175550103")
    StaffMemberFactory(practice=line.practice, role="front_desk", phone="+19175550104", receives_alerts=False)
    text(twilio, WORDS["complaint"])
    escalation = Escalation.objects.get()
    assert (escalation.routed_to, escalation.routing_note) == (
        None,
        "Complaint -> everyone who receives alerts (no routing rule matches)",
    )
    assert [sent.to for sent in outbox if sent.to.startswith("+1917")] == ["+19175550103"]


def test_a_duty_shift_is_read_in_its_locations_time_zone(team, twilio, outbox, clock):
    practice = team["practice"]
    west = LocationFactory(
        practice=practice, name="Santa Monica", time_zone="America/Los_Angeles", phone="+13105550100"
    )
    for weekday in range(7):
        BusinessHoursFactory(location=west, weekday=weekday, opens_at=time(9), closes_at=time(19))
    PhoneNumberFactory(practice=practice, location=west, number="+13105550111", forwards_to="+13105550100")
    lee = person(practice, "Lee", "clinical", "+13105550122")
    on_duty(lee, 9, 17, location=west)  # 9 to 5 in Santa Monica: noon to 8 pm in New York
    RoutingRule.objects.create(
        practice=practice, category="clinical", location=west, staff_member=lee, fallback=team["mia"]
    )

    at_local(clock, 10)  # 7 am in Santa Monica: Lee is not on yet
    text(twilio, WORDS["clinical_botox"], n=1, To="+13105550111")
    early = Escalation.objects.get()
    assert early.routed_to == team["mia"] and "fallback" in early.routing_note

    at_local(clock, 10, zone=LA)  # 1 pm in New York, 10 am in Santa Monica
    text(twilio, WORDS["clinical_botox"], n=2, To="+13105550111", From="+16465550199")
    late = Escalation.objects.exclude(pk=early.pk).get()
    assert (late.routed_to, late.routing_note) == (lee, "Clinical question about Botox -> Lee Staff (on duty)")

    # Joe's shift is at the New York location: at 10 am in New York it doesn't cover Santa Monica.
    RoutingRule.objects.filter(staff_member=lee).update(staff_member=team["joe"])
    at_local(clock, 10)
    text(twilio, WORDS["clinical_botox"], n=3, To="+13105550111", From="+16465550177")
    joes = Escalation.objects.exclude(pk__in=[early.pk, late.pk]).get()
    assert joes.routed_to == team["mia"]


def test_everyone_else_hears_after_the_grace_period_unless_it_was_claimed(team, twilio, outbox, clock, client):
    text(twilio, WORDS["clinical_botox"], n=1)  # Joe's; the others wait 30 minutes
    unclaimed = Escalation.objects.get()
    text(twilio, WORDS["complaint"], n=2, From="+16465550199")  # Mia's
    claimed = Escalation.objects.exclude(pk=unclaimed.pk).get()
    assert staff_texts(outbox, team) == ["Joe", "Mia"]
    client.force_login(team["mia"].user)
    response = client.post(reverse("console-escalation-claim", args=[claimed.pk]))
    assert response.status_code in (200, 302)
    claimed.refresh_from_db()
    assert claimed.status == "claimed"

    outbox.clear()
    clock.shift(timedelta(minutes=29))
    outreach_sweep()
    assert staff_texts(outbox, team) == []  # still inside the grace period

    clock.shift(timedelta(minutes=2))
    outreach_sweep()
    # The clinical question nobody claimed reaches everyone else; the claimed complaint reaches nobody more.
    assert sorted(staff_texts(outbox, team)) == ["Dana", "Kim", "Mia", "Olga"]
    assert all("not claimed yet" in sent.body for sent in outbox)
    skipped = Outreach.objects.filter(kind="staff_alert", state="skipped")
    assert skipped.count() == 4
    assert {row.state_reason for row in skipped} == {"escalation claimed before the wider alert"}
    assert not Outreach.objects.filter(kind="staff_alert", state="pending").exists()


def test_an_emergency_reaches_everyone_after_five_minutes(team, twilio, outbox, clock):
    text(twilio, WORDS["emergency"])
    assert staff_texts(outbox, team) == ["Joe"]
    outbox.clear()
    clock.shift(timedelta(minutes=4))
    outreach_sweep()
    assert staff_texts(outbox, team) == []
    clock.shift(timedelta(minutes=1, seconds=5))
    outreach_sweep()
    assert sorted(staff_texts(outbox, team)) == ["Dana", "Kim", "Mia", "Olga"]


def test_a_resolved_escalation_stops_the_wider_alert_too(team, twilio, outbox, clock, client):
    text(twilio, WORDS["human_request"])
    escalation = Escalation.objects.get()
    client.force_login(team["dana"].user)
    client.post(reverse("console-escalation-resolve", args=[escalation.pk]), {"note": "Called her back"})
    clock.shift(timedelta(minutes=16))
    outbox.clear()
    outreach_sweep()
    assert staff_texts(outbox, team) == []
    assert {row.state_reason for row in Outreach.objects.filter(kind="staff_alert", state="skipped")} == {
        "escalation resolved before the wider alert"
    }


def call_and_ask_for_a_person(twilio, words="I want to talk to a person"):
    twilio(VOICE, fixture("voice_incoming"))
    twilio("/webhooks/twilio/voice/dial-status/", fixture("voice_dial_status_no_answer"))
    return twilio("/webhooks/twilio/voice/gather/", fixture("voice_gather", SpeechResult=words)).content.decode()


def test_a_warm_transfer_dials_the_routed_person_with_the_whisper(team, twilio, outbox):
    response = call_and_ask_for_a_person(twilio)
    escalation = Escalation.objects.get()
    assert escalation.category == "human_request" and escalation.routed_to == team["dana"]
    whisper = f"https://receptionist.test/webhooks/twilio/voice/whisper/?escalation={escalation.pk}"
    assert f'<Number method="POST" url="{whisper}">+19175550104</Number>' in response
    assert "+12125550143" not in response  # not the front desk
    played = twilio(f"/webhooks/twilio/voice/whisper/?escalation={escalation.pk}", fixture("voice_screen"))
    assert "Asked for a person" in played.content.decode()


def test_a_warm_transfer_rings_the_front_desk_when_the_routed_person_is_off_duty(team, twilio, outbox, clock):
    team["practice"].routing_fallback = team["olga"]  # routed to, but never on duty
    team["practice"].save(update_fields=["routing_fallback"])
    DutyShift.objects.filter(staff_member=team["dana"]).delete()
    response = call_and_ask_for_a_person(twilio)
    escalation = Escalation.objects.get()
    assert escalation.routed_to == team["olga"]
    assert ">+12125550143</Number>" in response and "+19175550105" not in response


def test_the_console_card_says_where_it_was_routed(team, twilio, client):
    text(twilio, WORDS["clinical_filler"])
    client.force_login(team["dana"].user)
    body = client.get(reverse("console-escalations")).content.decode()
    assert "Clinical question about Lip filler -&gt; Kim Staff (on duty)" in body


def test_the_api_says_where_it_was_routed(team, twilio, client):
    text(twilio, WORDS["clinical_filler"])
    client.force_login(team["mia"].user)
    [row] = client.get("/api/v1/escalations/").json()
    assert row["routed_to"] == team["kim"].user.username
    assert row["routing_note"] == "Clinical question about Lip filler -> Kim Staff (on duty)"


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "a-long-password-1"))
    return client


def test_a_rule_naming_another_practices_people_or_places_is_refused(team, superuser_client):
    theirs = PracticeFactory()
    their_nurse = person(theirs, "Tess", "clinical", "+19175550199")
    their_location = LocationFactory(practice=theirs)
    response = superuser_client.post(
        reverse("admin:escalations_routingrule_add"),
        {
            "practice": team["practice"].pk,
            "category": "clinical",
            "location": their_location.pk,
            "service": team["botox"].pk,
            "role": "",
            "staff_member": their_nurse.pk,
            "fallback": their_nurse.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"location", "staff_member", "fallback"}
    assert RoutingRule.objects.filter(staff_member=their_nurse).count() == 0

    shift = superuser_client.post(
        reverse("admin:escalations_dutyshift_add"),
        {
            "staff_member": team["joe"].pk,
            "location": their_location.pk,
            "weekday": 2,
            "starts_at": "09:00",
            "ends_at": "17:00",
        },
    )
    assert "location" in shift.context["adminform"].form.errors


def test_a_manager_sets_up_rules_and_shifts_only_with_their_own_practice(team, client):
    theirs = PracticeFactory()
    their_nurse = person(theirs, "Tess", "clinical", "+19175550199")
    on_duty(their_nurse, 9, 17)
    RoutingRule.objects.create(practice=theirs, category="clinical", staff_member=their_nurse)
    client.force_login(team["mia"].user)
    form = client.get(reverse("admin:escalations_routingrule_add"))
    assert form.status_code == 200
    choices = {str(member.pk) for member in form.context["adminform"].form.fields["staff_member"].queryset}
    assert str(their_nurse.pk) not in choices and str(team["kim"].pk) in choices
    assert "practice" not in form.context["adminform"].form.fields
    rules = client.get(reverse("admin:escalations_routingrule_changelist")).content.decode()
    shifts = client.get(reverse("admin:escalations_dutyshift_changelist")).content.decode()
    assert "Tess" not in rules and "Tess" not in shifts and "Kim" in shifts

    created = client.post(
        reverse("admin:escalations_routingrule_add"),
        {
            "category": "complaint",
            "location": "",
            "service": "",
            "role": "owner",
            "staff_member": "",
            "fallback": "",
            "is_active": "on",
        },
    )
    assert created.status_code == 302
    assert RoutingRule.objects.get(category="complaint", role="owner").practice == team["practice"]
    refused = client.post(
        reverse("admin:escalations_dutyshift_add"),
        {"staff_member": their_nurse.pk, "location": "", "weekday": 2, "starts_at": "09:00", "ends_at": "17:00"},
    )
    assert refused.status_code == 200 and "staff_member" in refused.context["adminform"].form.errors
    assert DutyShift.objects.filter(staff_member=their_nurse).count() == 1
