"""Who gets an escalation first: the manager's routing rules, the staff's duty shifts, and the fallbacks.

How a person is picked for an escalation (its category, the service it mentions and its conversation's
location) at an instant:

1. The most specific active rule of the practice that matches. A rule matches when each of its category,
   service and location is empty or equal to the escalation's. Among matching rules, one that names the
   category beats one that does not; then one that names the service; then one that names the location;
   then a rule naming one person beats a rule naming a role; then the older rule (lower id). So "clinical
   questions about lip filler -> Nurse Kim" beats "clinical questions -> every nurse or injector", which
   beats "anything at Midtown -> the front desk", which beats a practice-wide "anything -> the manager".
2. Among the people the rule names (the person, or everyone with the role in the practice), those on duty
   now who can be alerted (a phone or an email); the lowest id if several are.
3. Else the rule's fallback; else the practice's routing fallback (also when no rule matches at all).
4. Else nobody: every staff member who receives alerts is alerted at once, as before routing existed.

On duty: a DutyShift of the person covers the instant on the local weekday and wall time. A shift at a
location counts only for that location (for an escalation with no location, any shift counts) and is read
in that location's time zone; a shift with no location counts for every location and is read in the
practice's time zone. Someone with no shifts is never on duty.

The note stored with the choice says why in plain words, with no patient data: names of staff, services
and categories only.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from practices.models import Location, Practice, Service, StaffMember

from .models import SLA, DutyShift, Escalation, RoutingRule

# The routed person has this long to claim it before everyone else who receives alerts hears of it.
EMERGENCY_GRACE = timedelta(minutes=5)
LONGEST_GRACE = timedelta(minutes=30)
EVERYONE = "everyone who receives alerts"


@dataclass(frozen=True)
class Routing:
    staff_member: StaffMember | None
    note: str


def alert_grace(category: str) -> timedelta:
    """How long the routed person has before everyone is alerted: 5 minutes for an emergency, else half
    the category's SLA, never more than 30 minutes."""
    if category == Escalation.Category.EMERGENCY:
        return EMERGENCY_GRACE
    return min(SLA[category] / 2, LONGEST_GRACE)


def staff_name(staff_member: StaffMember) -> str:
    return staff_member.user.get_full_name() or staff_member.user.get_username()


def can_be_alerted(staff_member: StaffMember) -> bool:
    return bool(staff_member.phone or staff_member.email or staff_member.user.email)


def _escalation_location(escalation: Escalation) -> Location | None:
    conversation = escalation.conversation
    return conversation.location if conversation is not None else None


def _service(escalation: Escalation) -> Service | None:
    slug = (escalation.summary or {}).get("service_interest") or ""
    if not slug:
        return None
    return Service.objects.filter(practice_id=escalation.practice_id, slug=slug).first()


def _specificity(rule: RoutingRule) -> tuple:
    return (bool(rule.category), bool(rule.service_id), bool(rule.location_id), bool(rule.staff_member_id), -rule.pk)


def matching_rule(
    *, practice: Practice, category: str, service: Service | None, location: Location | None
) -> RoutingRule | None:
    """The most specific active rule for this category, service and location (see the module's docstring)."""
    rules = RoutingRule.objects.filter(practice=practice, is_active=True).filter(Q(category="") | Q(category=category))
    rules = rules.filter(Q(service__isnull=True) | Q(service=service)) if service else rules.filter(service=None)
    rules = rules.filter(Q(location__isnull=True) | Q(location=location)) if location else rules.filter(location=None)
    return max(rules.select_related("staff_member__user", "fallback__user"), key=_specificity, default=None)


def on_duty_ids(*, staff_ids, location: Location | None, practice: Practice, at: datetime) -> set[int]:
    """Which of these staff members a duty shift covers at `at`, for an escalation at `location`."""
    shifts = DutyShift.objects.filter(staff_member_id__in=list(staff_ids)).select_related("location")
    if location is not None:
        shifts = shifts.filter(Q(location__isnull=True) | Q(location=location))
    covered = set()
    for shift in shifts:
        local = at.astimezone((shift.location if shift.location_id else practice).zone)
        if shift.weekday == local.weekday() and shift.starts_at <= local.time() < shift.ends_at:
            covered.add(shift.staff_member_id)
    return covered


def is_on_duty(*, staff_member: StaffMember, location: Location | None, at: datetime) -> bool:
    return staff_member.pk in on_duty_ids(
        staff_ids=[staff_member.pk], location=location, practice=staff_member.practice, at=at
    )


def route(*, escalation: Escalation, at: datetime) -> Routing:
    """Pick who gets `escalation` first at `at` (it need not be saved yet). Reads only."""
    practice = escalation.practice
    location = _escalation_location(escalation)
    service = _service(escalation)
    what = escalation.get_category_display() + (f" about {service.name}" if service else "")
    rule = matching_rule(practice=practice, category=escalation.category, service=service, location=location)
    if rule is not None:
        if rule.staff_member_id:
            named = [rule.staff_member]
        else:
            named = list(StaffMember.objects.filter(practice=practice, role=rule.role).select_related("user"))
        named = [person for person in named if can_be_alerted(person)]
        on_duty = on_duty_ids(staff_ids=[person.pk for person in named], location=location, practice=practice, at=at)
        for person in sorted(named, key=lambda person: person.pk):
            if person.pk in on_duty:
                return Routing(person, _note(what, staff_name(person), "on duty"))
        if rule.fallback_id:
            return Routing(rule.fallback, _note(what, staff_name(rule.fallback), "fallback: nobody named is on duty"))
        why = "nobody named is on duty"
    else:
        why = "no routing rule matches"
    fallback = practice.routing_fallback
    if fallback is not None:
        return Routing(fallback, _note(what, staff_name(fallback), f"practice fallback: {why}"))
    return Routing(None, _note(what, EVERYONE, why))


def _note(what: str, who: str, why: str) -> str:
    return f"{what} -> {who} ({why})"[:200]


def transfer_phone(*, escalation_id: int | None, at: datetime) -> str:
    """The line a warm transfer for this escalation should ring: the routed person's phone when they are
    on duty now and have one; "" for the front desk."""
    escalation = (
        Escalation.objects.select_related("routed_to__practice", "conversation__location")
        .filter(pk=escalation_id or 0)
        .first()
    )
    if escalation is None or escalation.routed_to is None or not escalation.routed_to.phone:
        return ""
    if not is_on_duty(staff_member=escalation.routed_to, location=_escalation_location(escalation), at=at):
        return ""
    return escalation.routed_to.phone


def wider_alert_not_needed(*, escalation_id: int) -> str:
    """Why the delayed alert to everyone is no longer needed ("" while the escalation is still open)."""
    status = Escalation.objects.filter(pk=escalation_id).values_list("status", flat=True).first()
    if status is None:
        return "escalation deleted"
    if status == Escalation.Status.OPEN:
        return ""
    return f"escalation {Escalation.Status(status).label.lower()} before the wider alert"
