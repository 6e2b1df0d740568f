"""The manager's view of the calendar and series configuration."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from practices.admin_scoping import PracticeScopedAdmin

from . import caldav_sync, services
from .models import (
    Appointment,
    CalendarConnection,
    EventTypeMapping,
    FollowUpTask,
    IntakeForm,
    ProviderFeed,
    SeriesEnrollment,
    SeriesTemplate,
    WaitlistEntry,
    new_feed_token,
)


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
        "needs_provider_review",
        "review_reasons",
        "reviewed_by",
        "reviewed_at",
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


@admin.register(IntakeForm)
class IntakeFormAdmin(PracticeScopedAdmin):
    """New patients' intake forms, read only: the patient fills them in through their link, and a provider
    signs off a flagged visit in the console. The link's nonce is never shown."""

    list_display = ["created_at", "patient", "appointment", "status", "flagged", "opened_at", "submitted_at"]
    list_filter = ["status"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__phone"]
    date_hierarchy = "created_at"
    list_select_related = ["patient", "appointment__service", "appointment__location"]
    fields = [
        "patient",
        "appointment",
        "status",
        "expires_at",
        "opened_at",
        "submitted_at",
        "reminded_at",
        "flags",
        "answers",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="Flags", boolean=True)
    def flagged(self, obj):
        return bool(obj.flags)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The practice's own calendars (CalDAV).


class CalendarConnectionForm(forms.ModelForm):
    server_url = forms.URLField(
        label="CalDAV address",
        max_length=500,
        assume_scheme="https",
        help_text=CalendarConnection._meta.get_field("server_url").help_text,
    )
    calendar_url = forms.URLField(
        label="Calendar",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=CalendarConnection._meta.get_field("calendar_url").help_text,
    )
    app_password = forms.CharField(
        label="App password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Make an app password in the calendar service for this. It is stored encrypted and never shown "
        "again; leave empty to keep the saved one.",
    )

    class Meta:
        model = CalendarConnection
        fields = [
            "practice",
            "name",
            "provider",
            "location",
            "resource",
            "is_active",
            "server_url",
            "username",
            "calendar_url",
            "write_appointments",
            "event_details",
            "all_day_events",
            "max_staleness_minutes",
        ]

    def clean(self):
        cleaned = super().clean()
        if not self.instance.password_encrypted and not cleaned.get("app_password"):
            self.add_error("app_password", "Enter the app password.")
        return cleaned


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(PracticeScopedAdmin):
    """Set up a provider's (location's, room's) calendar; "Save and test connection" lists the calendars
    the account has, or says in plain words what went wrong. The sync status is in the console."""

    form = CalendarConnectionForm
    change_form_template = "admin/booking/calendarconnection/change_form.html"
    list_display = ["name", "owner", "is_active", "write_appointments", "last_success_at", "last_error"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    actions = ["test_selected", "sync_selected"]
    readonly_fields = ["last_success_at", "last_attempt_at", "failing_since", "last_error", "last_sync_kind"]
    fieldsets = [
        (None, {"fields": ["practice", "name", "provider", "location", "resource", "is_active"]}),
        ("Calendar", {"fields": ["server_url", "username", "app_password", "calendar_url"]}),
        (
            "Rules",
            {"fields": ["write_appointments", "event_details", "all_day_events", "max_staleness_minutes"]},
        ),
        ("Sync", {"fields": readonly_fields}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        first = dict(fieldsets[0][1])
        first["fields"] = [name for name in first["fields"] if name != "practice"]
        return [(fieldsets[0][0], first), *fieldsets[1:]]

    @admin.display(description="For")
    def owner(self, obj):
        return obj.owner

    def save_model(self, request, obj, form, change):
        password = form.cleaned_data.get("app_password")
        if password:
            obj.set_password(password)
        if change and {"server_url", "username"} & set(form.changed_data):
            obj.sync_token = ""  # another account: start the copy over
        super().save_model(request, obj, form, change)

    def _report_test(self, request, connection) -> None:
        try:
            found = caldav_sync.connection_test(connection=connection)
        except caldav_sync.CalendarError as exc:
            self.message_user(request, f"{connection.name}: {exc}", messages.ERROR)
            return
        if not found:
            self.message_user(
                request, f"{connection.name}: connected, but the account has no calendars.", messages.WARNING
            )
            return
        listed = "; ".join(f"{name} ({url})" for name, url in found)
        self.message_user(request, f"{connection.name}: connected. Calendars found: {listed}.", messages.SUCCESS)

    def response_change(self, request, obj):
        if "_test_connection" in request.POST:
            self._report_test(request, obj)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_test_connection" in request.POST:
            self._report_test(request, obj)
            return HttpResponseRedirect(reverse("admin:booking_calendarconnection_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    @admin.action(description="Test the connection (lists the calendars found)")
    def test_selected(self, request, queryset):
        for connection in queryset.select_related("practice"):
            self._report_test(request, connection)

    @admin.action(description="Sync now")
    def sync_selected(self, request, queryset):
        for connection in queryset:
            async_task("booking.tasks.calendar_sync", connection.pk, task_name=f"calendar-sync-{connection.pk}-admin")
        self.message_user(request, "Sync started; the console's Calendar sync page shows the result.")


@admin.register(EventTypeMapping)
class EventTypeMappingAdmin(PracticeScopedAdmin):
    """Which of the practice's event titles or categories are which service."""

    list_display = ["pattern", "match_on", "service", "priority", "is_active"]
    list_editable = ["priority", "is_active"]
    list_filter = ["match_on", "is_active", ("service", RelatedOnlyFieldListFilter)]
    search_fields = ["pattern"]
    list_select_related = ["service"]


@admin.register(ProviderFeed)
class ProviderFeedAdmin(PracticeScopedAdmin):
    """A provider's visits at a secret address their phone can subscribe to. "Make a new address" revokes
    the old one at once (a lost phone, a provider who left)."""

    list_display = ["provider", "is_active", "event_details", "created_at", "rotated_at"]
    list_filter = ["is_active"]
    readonly_fields = ["address", "created_at", "rotated_at"]
    actions = ["rotate_selected"]
    list_select_related = ["provider"]

    @admin.display(description="Subscription address")
    def address(self, obj):
        if not obj.pk or not obj.token:
            return "Shown once saved."
        return settings.PUBLIC_BASE_URL + reverse("calendar-feed", args=[obj.token])

    def save_model(self, request, obj, form, change):
        if obj.provider_id and obj.practice_id is None:
            obj.practice_id = obj.provider.practice_id
        super().save_model(request, obj, form, change)

    @admin.action(description="Make a new address (the old one stops working)")
    def rotate_selected(self, request, queryset):
        for feed in queryset:
            feed.token = new_feed_token()
            feed.rotated_at = timezone.now()
            feed.save(update_fields=["token", "rotated_at"])
        self.message_user(request, f"New addresses made for {queryset.count()} feed(s); the old ones no longer work.")
