from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter

from practices.admin_scoping import PracticeScopedAdmin

from .models import DutyShift, Escalation, RoutingRule


@admin.register(Escalation)
class EscalationAdmin(PracticeScopedAdmin):
    list_display = ["created_at", "category", "status", "patient", "sla_due_at", "claimed_by"]
    list_filter = ["category", "status"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__phone"]
    raw_id_fields = ["patient", "conversation", "source_message", "claimed_by"]
    readonly_fields = ["summary", "reasons", "created_at"]
    list_select_related = ["patient", "claimed_by"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(PracticeScopedAdmin):
    """Who gets which escalations first (escalations/routing.py explains which rule wins)."""

    list_display = ["__str__", "category", "service", "location", "role", "staff_member", "fallback", "is_active"]
    list_filter = ["category", "role", "is_active", ("location", RelatedOnlyFieldListFilter)]
    list_select_related = ["service", "location", "staff_member__user", "fallback__user"]


@admin.register(DutyShift)
class DutyShiftAdmin(PracticeScopedAdmin):
    """When each staff member is on duty for routed escalations, in the location's local time."""

    list_display = ["staff_member", "weekday", "starts_at", "ends_at", "location"]
    list_filter = ["weekday", ("staff_member", RelatedOnlyFieldListFilter), ("location", RelatedOnlyFieldListFilter)]
    list_select_related = ["staff_member__user", "location"]
