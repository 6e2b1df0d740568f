"""Admin classes that keep a practice manager inside their own practice.

Every list, change page, autocomplete, raw-id popup and choice list goes through get_queryset or
formfield_for_*, and each is scoped here; superusers see everything. Another practice's row is
simply not there: its change page redirects like a deleted row would.
"""

from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget, ManyToManyRawIdWidget

from .audit import audit_read
from .tenancy import practice_for_user, scope_to_practice


class ScopedForeignKeyRawIdWidget(ForeignKeyRawIdWidget):
    """Shows the label of a chosen row only when it is in scope, so a typed-in id reveals nothing."""

    def __init__(self, rel, admin_site, *, queryset, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.scoped_queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            if not self.scoped_queryset.filter(**{key: value}).exists():
                return "", ""
        except (ValueError, TypeError):
            return "", ""
        return super().label_and_url_for_value(value)


class PracticeScopedMixin:
    """Shared by ModelAdmin and inlines: scoped rows, scoped choices, the practice filled in."""

    def scoped_practice(self, request):
        return None if request.user.is_superuser else practice_for_user(request.user)

    def _has_practice_field(self) -> bool:
        return any(field.name == "practice" for field in self.model._meta.concrete_fields)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        practice = practice_for_user(request.user)
        if practice is None:
            return queryset.none()
        return scope_to_practice(queryset, practice)

    def _scope_choices(self, request, db_field, kwargs):
        practice = self.scoped_practice(request)
        if practice is None and request.user.is_superuser:
            return kwargs
        related = db_field.remote_field.model
        try:
            queryset = kwargs.get("queryset") or related._default_manager.all()
            kwargs["queryset"] = scope_to_practice(queryset, practice) if practice else queryset.none()
        except LookupError:
            pass
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs = self._scope_choices(request, db_field, kwargs)
        if db_field.name in self.raw_id_fields and "widget" not in kwargs and "queryset" in kwargs:
            kwargs["widget"] = ScopedForeignKeyRawIdWidget(
                db_field.remote_field, self.admin_site, queryset=kwargs["queryset"], using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs = self._scope_choices(request, db_field, kwargs)
        if db_field.name in self.raw_id_fields and "widget" not in kwargs:
            kwargs["widget"] = ManyToManyRawIdWidget(db_field.remote_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self._has_practice_field():
            exclude.append("practice")
        return exclude

    def _with_practice(self, form_class, request):
        practice = self.scoped_practice(request)
        if practice is None or not self._has_practice_field():
            return form_class

        class PracticeFilledForm(form_class):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                if self.instance.practice_id is None:
                    self.instance.practice = practice

        PracticeFilledForm.__name__ = form_class.__name__
        return PracticeFilledForm


# Models whose change page shows patient data: each view of one writes an audit row.
PATIENT_DATA = {
    "practices.patient",
    "practices.contactconsent",
    "practices.consentevent",
    "practices.membership",
    "booking.appointment",
    "booking.seriesenrollment",
    "booking.followuptask",
    "booking.waitlistentry",
    "booking.intakeform",
    "calls.call",
    "calls.conversation",
    "calls.message",
    "calls.outreach",
    "escalations.escalation",
}


class PracticeScopedAdmin(PracticeScopedMixin, admin.ModelAdmin):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        self._audit(request, response, object_id)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        self._audit(request, response, object_id, suffix=" history")
        return response

    def _audit(self, request, response, object_id, suffix=""):
        if self.model._meta.label_lower in PATIENT_DATA and response.status_code == 200:
            audit_read(request, f"admin {self.model._meta.model_name}{suffix}", object_id)

    def get_form(self, request, obj=None, **kwargs):
        return self._with_practice(super().get_form(request, obj, **kwargs), request)

    def has_module_permission(self, request):
        return super().has_module_permission(request) and self._can_act(request)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._can_act(request)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._can_act(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._can_act(request)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._can_act(request)

    def _can_act(self, request) -> bool:
        return request.user.is_superuser or practice_for_user(request.user) is not None


class PracticeScopedTabularInline(PracticeScopedMixin, admin.TabularInline):
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = self._with_practice(formset.form, request)
        return formset


class PracticeScopedStackedInline(PracticeScopedMixin, admin.StackedInline):
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = self._with_practice(formset.form, request)
        return formset
