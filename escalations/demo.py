"""The demo practice's escalation routing: who gets which kind of question, and when they are on duty."""

from datetime import time

from practices.demo import upsert
from practices.models import Practice, StaffMember

from .models import DutyShift, Escalation, RoutingRule

WEEKDAYS = range(0, 5)
Category = Escalation.Category


def seed_escalations_demo(practice: Practice) -> None:
    staff = {member.user.username: member for member in StaffMember.objects.filter(practice=practice)}
    nurse, manager, desk = staff.get("nurse"), staff.get("manager"), staff.get("frontdesk")
    if not (nurse and manager and desk):
        return
    shifts = [
        (nurse, range(0, 6), time(9), time(18)),
        (desk, WEEKDAYS, time(9), time(19)),
        (manager, WEEKDAYS, time(9), time(17)),
    ]
    for member, days, starts, ends in shifts:
        for weekday in days:
            DutyShift.objects.get_or_create(
                staff_member=member, location=None, weekday=weekday, starts_at=starts, ends_at=ends
            )
    rules = [
        (Category.EMERGENCY, {"staff_member": nurse}, manager),
        (Category.CLINICAL, {"role": StaffMember.Role.CLINICAL}, manager),
        (Category.COMPLAINT, {"role": StaffMember.Role.MANAGER}, None),
        (Category.EXCEPTION, {"role": StaffMember.Role.MANAGER}, None),
        (Category.HUMAN_REQUEST, {"role": StaffMember.Role.FRONT_DESK}, manager),
    ]
    for category, who, fallback in rules:
        upsert(
            RoutingRule,
            practice=practice,
            category=category,
            location=None,
            service=None,
            defaults={"role": who.get("role", ""), "staff_member": who.get("staff_member"), "fallback": fallback},
        )
    if practice.routing_fallback_id is None:
        Practice.objects.filter(pk=practice.pk).update(routing_fallback=manager)
