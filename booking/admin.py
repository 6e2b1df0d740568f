"""The manager's view of the calendar and series configuration."""

from django.contrib import admin, messages
from django.contrib.admin import RelatedOnlyFieldListFilter

from practices.admin_scoping import PracticeScopedAdmin

from . import services
from .models import Appointment, FollowUpTask, SeriesEnrollment, SeriesTemplate, WaitlistEntry


@admin.register(Appointment)
class AppointmentAdmin(PracticeScopedAdmin):
    """Read and cancel here; booking and moving go through the booking engine (console or API), so
    that the admin can never place a visit on a taken or closed time."""

    list_display = ["local_time", "patient", "service", "provider", "location", "resource", "status", "source"]
    list_filter = [
        "status",
        "source",
        ("location", RelatedOnlyFieldListFilter),
        ("provider", RelatedOnlyFieldListFilter),
        ("service", RelatedOnlyFieldListFilter),
    ]
    search_fields = ["patient__first_name", "patient__last_name", "patient__phone"]
    date_hierarchy = "starts_at"
    list_select_related = ["patient", "service", "provider", "location", "resource"]
    list_per_page = 50
    readonly_fields = [
        "location",
        "patient",
        "service",
        "provider",
        "resource",
        "resource_unit",
        "starts_at",
        "ends_at",
        "blocks_until",
        "status",
        "source",
        "booked_by",
        "enrollment",
        "campaign",
        "cancellation_reason",
        "cancelled_at",
        "confirmed_at",
        "checked_in_at",
        "completed_at",
        "created_at",
    ]
    actions = ["cancel_selected"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="When (local time)", ordering="starts_at")
    def local_time(self, obj):
        return obj.local_start.strftime("%a %b %d, %I:%M %p %Z").replace(" 0", " ")

    @admin.action(description="Cancel the selected visits (frees their time)")
    def cancel_selected(self, request, queryset):
        cancelled = 0
        for appointment in queryset:
            try:
                services.appointment_cancel(appointment=appointment, reason="Cancelled by staff")
                cancelled += 1
            except services.BookingError as exc:
                self.message_user(request, f"{appointment}: {exc}", messages.WARNING)
        self.message_user(request, f"Cancelled {cancelled} visit(s).")


@admin.register(SeriesTemplate)
class SeriesTemplateAdmin(PracticeScopedAdmin):
    list_display = ["name", "service", "visits", "interval_days", "early_days", "late_days", "repeats", "is_active"]
    list_filter = ["is_active", "repeats", "staff_review_before_next"]
    search_fields = ["name"]


@admin.register(SeriesEnrollment)
class SeriesEnrollmentAdmin(PracticeScopedAdmin):
    list_display = ["patient", "template", "visits_done", "next_due_on", "status", "last_contact_outcome"]
    list_filter = ["status", ("template", RelatedOnlyFieldListFilter)]
    search_fields = ["patient__first_name", "patient__last_name", "patient__phone"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient", "template"]


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(PracticeScopedAdmin):
    list_display = ["due_on", "patient", "kind", "status", "reason", "outcome"]
    list_filter = ["kind", "status"]
    search_fields = ["patient__first_name", "patient__last_name", "reason"]
    raw_id_fields = ["patient", "enrollment", "appointment"]
    list_select_related = ["patient"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(PracticeScopedAdmin):
    list_display = ["patient", "service", "location", "provider", "earliest_on", "latest_on", "status"]
    list_filter = ["status", ("service", RelatedOnlyFieldListFilter)]
    search_fields = ["patient__first_name", "patient__last_name"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient", "service", "location", "provider"]
