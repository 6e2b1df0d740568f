"""The practice manager's console for configuration, people and patients."""

from django import forms
from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter

from . import services
from .admin_scoping import PracticeScopedAdmin, PracticeScopedStackedInline, PracticeScopedTabularInline
from .message_templates import DEFAULTS
from .models import (
    ApprovedAnswer,
    AuditEvent,
    BlockedNumber,
    BusinessHours,
    Campaign,
    Closure,
    ConsentEvent,
    ContactConsent,
    IntakeAcknowledgement,
    Location,
    Membership,
    MessageTemplate,
    Patient,
    PhoneNumber,
    Practice,
    Provider,
    ProviderShift,
    ProviderTimeOff,
    Resource,
    Service,
    StaffMember,
)
from .roles import staff_member_sync_access

admin.site.site_header = "Med spa receptionist"
admin.site.site_title = "Receptionist admin"
admin.site.index_title = "Practice settings"
# The wide tables (menu, calendar) need the room more than a second copy of the index does.
admin.site.enable_nav_sidebar = False


@admin.register(Practice)
class PracticeAdmin(PracticeScopedAdmin):
    list_display = ["name", "brand_name", "slug", "time_zone", "average_visit_value", "is_active"]
    list_filter = ["is_active", "time_zone"]
    search_fields = ["name", "brand_name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "brand_name", "slug", "time_zone", "is_active"]}),
        ("Contact", {"fields": ["contact_phone", "contact_email", "website"]}),
        ("Messaging", {"fields": ["quiet_hours_start", "quiet_hours_end", "voice_callbacks"]}),
        ("Booking", {"fields": ["min_notice_minutes", "booking_horizon_days", "slot_step_minutes"]}),
        ("New patient intake", {"fields": ["intake_reminder_hours"]}),
        ("Reporting and retention", {"fields": ["average_visit_value", "retention_days"]}),
        ("Escalation routing", {"fields": ["routing_fallback"]}),
    ]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["slug"]

    def get_prepopulated_fields(self, request, obj=None):
        # A read-only slug has no form field to fill in (the change page would fail).
        return self.prepopulated_fields if request.user.is_superuser else {}


class BusinessHoursInline(PracticeScopedTabularInline):
    model = BusinessHours
    extra = 1


@admin.register(Location)
class LocationAdmin(PracticeScopedAdmin):
    list_display = ["name", "practice", "time_zone", "phone", "coverage_mode", "is_active"]
    list_filter = ["is_active", "time_zone", "coverage_mode"]
    search_fields = ["name", "address"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [BusinessHoursInline]


@admin.register(Closure)
class ClosureAdmin(PracticeScopedAdmin):
    list_display = ["name", "location", "starts_on", "ends_on", "from_time", "to_time"]
    list_filter = [("location", RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    date_hierarchy = "starts_on"


class ProviderShiftInline(PracticeScopedTabularInline):
    model = ProviderShift
    extra = 1


class ProviderTimeOffInline(PracticeScopedTabularInline):
    model = ProviderTimeOff


@admin.register(Provider)
class ProviderAdmin(PracticeScopedAdmin):
    list_display = ["__str__", "credential", "is_active"]
    list_filter = ["credential", "is_active", ("locations", RelatedOnlyFieldListFilter)]
    search_fields = ["first_name", "last_name", "email"]
    autocomplete_fields = ["services"]
    filter_horizontal = ["locations"]
    inlines = [ProviderShiftInline, ProviderTimeOffInline]


@admin.register(Service)
class ServiceAdmin(PracticeScopedAdmin):
    list_display = ["name", "category", "minutes", "buffer", "price_range", "consultation_first", "is_active"]
    list_filter = ["category", "consultation_required_for_new", "is_active"]
    search_fields = ["name", "slug", "synonyms"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["name", "slug", "category", "description", "is_active"]}),
        (
            "Scheduling",
            {
                "fields": [
                    "duration_minutes",
                    "buffer_after_minutes",
                    "consultation_required_for_new",
                    "return_interval_days",
                ]
            },
        ),
        ("Published price", {"fields": ["price_min", "price_max", "price_unit"]}),
        ("How patients say it", {"fields": ["synonyms"]}),
        ("Instructions", {"fields": ["prep_instructions", "aftercare_instructions", "contraindication_cues"]}),
    ]

    @admin.display(description="Price range")
    def price_range(self, obj):
        return obj.price_range_text or "Not published"

    @admin.display(description="Minutes", ordering="duration_minutes")
    def minutes(self, obj):
        return obj.duration_minutes

    @admin.display(description="Buffer", ordering="buffer_after_minutes")
    def buffer(self, obj):
        return obj.buffer_after_minutes

    @admin.display(description="Consult first", boolean=True, ordering="consultation_required_for_new")
    def consultation_first(self, obj):
        return obj.consultation_required_for_new


@admin.register(Resource)
class ResourceAdmin(PracticeScopedAdmin):
    list_display = ["name", "kind", "location", "capacity", "is_active"]
    list_filter = ["kind", "is_active", ("location", RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    filter_horizontal = ["services"]


@admin.register(ApprovedAnswer)
class ApprovedAnswerAdmin(PracticeScopedAdmin):
    list_display = ["title", "topic", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["title", "topic", "answer"]


class MessageTemplateForm(forms.ModelForm):
    key = forms.ChoiceField(choices=[(key, key.replace("_", " ").capitalize()) for key in DEFAULTS])

    class Meta:
        model = MessageTemplate
        fields = ["practice", "key", "body"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(PracticeScopedAdmin):
    form = MessageTemplateForm
    list_display = ["key", "body", "updated_at"]
    search_fields = ["key", "body"]
    readonly_fields = ["default_wording"]

    @admin.display(description="Default wording")
    def default_wording(self, obj):
        return DEFAULTS.get(obj.key, "") if obj and obj.pk else "See the list of keys; each has default wording."


@admin.register(StaffMember)
class StaffMemberAdmin(PracticeScopedAdmin):
    list_display = ["__str__", "role", "phone", "email", "receives_alerts"]
    list_filter = ["role", "receives_alerts"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "email"]
    raw_id_fields = ["user"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        staff_member_sync_access(obj)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(PracticeScopedAdmin):
    list_display = ["number", "label", "location", "forwards_to", "ring_timeout_seconds", "is_active"]
    list_filter = ["is_active", ("location", RelatedOnlyFieldListFilter)]
    search_fields = ["number", "label"]


class MembershipInline(PracticeScopedStackedInline):
    model = Membership


@admin.register(Patient)
class PatientAdmin(PracticeScopedAdmin):
    list_display = ["__str__", "phone", "email", "preferred_channel", "is_returning", "home_location"]
    list_filter = ["is_returning", "preferred_channel", ("home_location", RelatedOnlyFieldListFilter)]
    search_fields = ["first_name", "last_name", "phone", "email"]
    autocomplete_fields = ["home_location"]
    inlines = [MembershipInline]
    list_select_related = ["home_location"]
    readonly_fields = ["preferred_channel_set_by"]

    def save_model(self, request, obj, form, change):
        if "preferred_channel" in form.changed_data:
            obj.preferred_channel_set_by = Patient.ChannelSetBy.STAFF  # learning never overrides a staff choice
        super().save_model(request, obj, form, change)


@admin.register(Membership)
class MembershipAdmin(PracticeScopedAdmin):
    list_display = ["patient", "plan", "status", "credits", "renews_on"]
    list_filter = ["status", "plan"]
    search_fields = ["plan", "patient__first_name", "patient__last_name"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient"]


@admin.register(Campaign)
class CampaignAdmin(PracticeScopedAdmin):
    list_display = ["name", "kind", "starts_on", "ends_on", "deadline", "source_code", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "source_code", "offer_text"]
    filter_horizontal = ["services"]
    date_hierarchy = "starts_on"


@admin.register(BlockedNumber)
class BlockedNumberAdmin(PracticeScopedAdmin):
    list_display = ["phone", "reason", "created_at"]
    search_fields = ["phone", "reason"]


@admin.register(ContactConsent)
class ContactConsentAdmin(PracticeScopedAdmin):
    list_display = ["phone", "status", "whatsapp_opted_in", "updated_at"]
    list_filter = ["status", "whatsapp_opted_in"]
    search_fields = ["phone"]
    readonly_fields = ["phone", "status", "whatsapp_opted_in", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(PracticeScopedAdmin):
    """Staff may record consent they were given (on a call, at the desk); nobody may edit the log."""

    list_display = ["occurred_at", "phone", "kind", "source", "recorded_by"]
    list_filter = ["kind", "source"]
    search_fields = ["phone", "evidence"]
    date_hierarchy = "occurred_at"

    def get_fields(self, request, obj=None):
        fields = ["phone", "kind", "source", "told", "evidence"]
        if obj:
            fields += ["occurred_at", "recorded_by"]
        return (["practice"] if request.user.is_superuser else []) + fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def save_model(self, request, obj, form, change):
        event = services.consent_record(
            practice=obj.practice,
            phone=obj.phone,
            kind=obj.kind,
            source=obj.source,
            told=obj.told,
            evidence=obj.evidence,
            recorded_by=request.user,
        )
        obj.pk = event.pk
        obj._state.adding = False


@admin.register(IntakeAcknowledgement)
class IntakeAcknowledgementAdmin(PracticeScopedAdmin):
    """What a new patient must read and tick on the intake form (each one is required)."""

    list_display = ["title", "order", "is_active"]
    list_filter = ["is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["title", "text"]
    ordering = ["order", "pk"]


@admin.register(AuditEvent)
class AuditEventAdmin(PracticeScopedAdmin):
    """Who looked at patient data. Readable by managers (their practice only); nobody can add, change or
    delete a row."""

    list_display = ["at", "username", "action", "what", "object_id", "ip"]
    list_filter = ["what", "action"]
    search_fields = ["username", "object_id", "path"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
