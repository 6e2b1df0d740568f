from django.contrib import admin

from practices.admin_scoping import PracticeScopedAdmin

from .models import Escalation


@admin.register(Escalation)
class EscalationAdmin(PracticeScopedAdmin):
    list_display = ["created_at", "category", "status", "patient", "sla_due_at", "claimed_by"]
    list_filter = ["category", "status"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__phone"]
    raw_id_fields = ["patient", "conversation", "source_message", "claimed_by"]
    readonly_fields = ["summary", "reasons", "created_at"]
    list_select_related = ["patient", "claimed_by"]
