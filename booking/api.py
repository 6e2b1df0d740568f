"""REST API for booking: availability, appointments, series. Everything is scoped to the caller's practice."""

from datetime import date, datetime, time, timedelta

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from practices.audit import audited
from practices.models import Location, Patient, Provider, Service
from practices.tenancy import practice_for_user

from . import selectors, services
from .availability import Preferences
from .ics import appointment_ics
from .models import Appointment, SeriesEnrollment


class HasPractice(permissions.BasePermission):
    message = "This account does not belong to a practice."

    def has_permission(self, request, view):
        practice = practice_for_user(request.user)
        request.practice = practice
        return practice is not None


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class LocalDateTimeField(serializers.DateTimeField):
    """Shows a time in the zone it carries (the location's), not converted to UTC."""

    def to_representation(self, value):
        return value.isoformat()


EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


class CalendarDateField(serializers.DateField):
    """A day a med spa's calendar can hold (2000 to 2100): further out, day arithmetic overflows."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not EARLIEST <= day <= LATEST:
            raise serializers.ValidationError(f"Choose a day between {EARLIEST} and {LATEST}.")
        return day


class AwareDateTimeField(serializers.DateTimeField):
    """Accepts only a time with its offset: a bare "10:00" could be any of the practice's zones."""

    def to_internal_value(self, value):
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:  # well formed but impossible, like 12:99
            raise serializers.ValidationError("That is not a real date and time.") from None
        if parsed is not None and not EARLIEST.year <= parsed.year <= LATEST.year:
            raise serializers.ValidationError(f"Choose a time between {EARLIEST} and {LATEST}.")
        if isinstance(value, str) and parsed is not None and timezone.is_naive(parsed):
            raise serializers.ValidationError("Include the time zone offset, e.g. 2026-12-01T10:00:00-05:00.")
        return super().to_internal_value(value)


class PracticeScopedPrimaryKey(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the caller's practice; another practice's id is 'not found'."""

    def __init__(self, model, **kwargs):
        self.model = model
        kwargs.setdefault("pk_field", serializers.IntegerField())
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.model.objects.filter(practice=self.context["request"].practice)


# Availability


class AvailabilityQuerySerializer(serializers.Serializer):
    service = serializers.CharField(help_text="The service's slug or id.")
    location = serializers.IntegerField(required=False)
    provider = serializers.IntegerField(required=False)
    patient = serializers.IntegerField(required=False, help_text="Offers a consultation first to a new patient.")
    start = CalendarDateField(required=False, help_text="First local day to search (default today).")
    days = serializers.IntegerField(required=False, min_value=1, max_value=90, default=14)
    choices = serializers.IntegerField(
        required=False, min_value=1, max_value=10, help_text="Only the first open time on each of this many days."
    )
    weekdays = serializers.CharField(required=False, help_text="Comma-separated, Monday=0.")
    part_of_day = serializers.MultipleChoiceField(choices=["morning", "afternoon", "evening"], required=False)
    earliest = serializers.TimeField(required=False)
    latest = serializers.TimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)

    def validate_weekdays(self, value):
        try:
            days = frozenset(int(part) for part in value.split(",") if part.strip())
        except ValueError:
            raise serializers.ValidationError("Use numbers 0 (Monday) to 6 (Sunday), separated by commas.") from None
        if not days <= set(range(7)):
            raise serializers.ValidationError("Use numbers 0 (Monday) to 6 (Sunday).")
        return days


class ServiceSummarySerializer(serializers.ModelSerializer):
    price_range = serializers.CharField(source="price_range_text")

    class Meta:
        model = Service
        fields = ["id", "slug", "name", "duration_minutes", "price_range"]


class SlotSerializer(serializers.Serializer):
    start = LocalDateTimeField()
    end = LocalDateTimeField()
    provider = serializers.IntegerField(source="provider_id")
    location = serializers.IntegerField(source="location_id")
    resource = serializers.IntegerField(source="resource_id", allow_null=True)


class AvailabilitySerializer(serializers.Serializer):
    requested_service = ServiceSummarySerializer()
    service = ServiceSummarySerializer(help_text="What to book: the consultation when a new patient needs one first.")
    consultation_first = serializers.BooleanField()
    slots = SlotSerializer(many=True)


def _scoped(model, practice, pk, label):
    if pk is None:
        return None
    try:
        return model.objects.get(practice=practice, pk=pk)
    except model.DoesNotExist:
        raise serializers.ValidationError({label: f"No {label} {pk} at this practice."}) from None


@extend_schema(
    parameters=[AvailabilityQuerySerializer],
    responses={200: AvailabilitySerializer, 400: OpenApiResponse(description="Invalid query")},
    summary="Open times for a service",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def availability(request):
    practice = request.practice
    query = AvailabilityQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    raw = data["service"]
    lookup = {"pk": int(raw)} if raw.isascii() and raw.isdigit() else {"slug": raw}
    service = Service.objects.filter(practice=practice, is_active=True, **lookup).first()
    if service is None:
        raise serializers.ValidationError({"service": "No such service at this practice."})
    location = _scoped(Location, practice, data.get("location"), "location")
    provider = _scoped(Provider, practice, data.get("provider"), "provider")
    patient = _scoped(Patient, practice, data.get("patient"), "patient")
    offered = selectors.service_to_offer(service=service, patient=patient) if patient else service

    zone = location.zone if location else practice.zone
    first_day = data.get("start") or timezone.localdate(timezone=zone)
    start = max(datetime.combine(first_day, time.min, zone), timezone.now())
    end = datetime.combine(first_day + timedelta(days=data["days"]), time.min, zone)
    preferences = Preferences(
        weekdays=data.get("weekdays"),
        parts_of_day=frozenset(data["part_of_day"]) if data.get("part_of_day") else None,
        earliest=data.get("earliest"),
        latest=data.get("latest"),
    )
    if data.get("choices"):
        slots = selectors.first_choices(
            service=offered,
            start=start,
            end=end,
            days=data["choices"],
            location=location,
            provider=provider,
            preferences=preferences,
        )
    else:
        slots = selectors.open_slots(
            service=offered,
            start=start,
            end=end,
            location=location,
            provider=provider,
            preferences=preferences,
            limit=data["limit"],
        )
    payload = {
        "requested_service": service,
        "service": offered,
        "consultation_first": offered.pk != service.pk,
        "slots": slots,
    }
    return Response(AvailabilitySerializer(payload).data)


# Appointments


class AppointmentSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    provider_name = serializers.CharField(source="provider.display_name", read_only=True)
    local_start = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "patient_name",
            "service",
            "service_name",
            "provider",
            "provider_name",
            "location",
            "resource",
            "starts_at",
            "ends_at",
            "local_start",
            "status",
            "source",
            "cancellation_reason",
            "enrollment",
            "created_at",
        ]
        read_only_fields = fields

    def get_local_start(self, obj) -> str:
        return obj.local_start.isoformat()


class AppointmentCreateSerializer(serializers.Serializer):
    patient = PracticeScopedPrimaryKey(Patient)
    service = PracticeScopedPrimaryKey(Service)
    location = PracticeScopedPrimaryKey(Location)
    provider = PracticeScopedPrimaryKey(Provider)
    starts_at = AwareDateTimeField(help_text="ISO 8601 with an offset, e.g. 2026-12-01T10:00:00-05:00.")


class RescheduleSerializer(serializers.Serializer):
    starts_at = AwareDateTimeField()
    provider = PracticeScopedPrimaryKey(Provider, required=False)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class AppointmentListQuerySerializer(serializers.Serializer):
    date = CalendarDateField(required=False, help_text="A local day (default today).")
    location = serializers.IntegerField(required=False)
    provider = serializers.IntegerField(required=False)


def _conflict(exc) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


def _appointment_for(request, pk) -> Appointment:
    return get_object_or_404(selectors.appointments_for_practice(practice=request.practice), pk=pk)


@audited("api appointments")
@extend_schema(
    methods=["GET"],
    parameters=[AppointmentListQuerySerializer],
    responses={200: AppointmentSerializer(many=True), 400: OpenApiResponse(description="Invalid query")},
    summary="Appointments on a day",
)
@extend_schema(
    methods=["POST"],
    request=AppointmentCreateSerializer,
    responses={201: AppointmentSerializer, 400: OpenApiResponse(description="Invalid input"), 409: ErrorSerializer},
    summary="Book an appointment",
)
@api_view(["GET", "POST"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def appointments(request):
    practice = request.practice
    if request.method == "GET":
        query = AppointmentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = selectors.appointments_on_day(
            practice=practice,
            day=data.get("date") or timezone.localdate(timezone=practice.zone),
            location=_scoped(Location, practice, data.get("location"), "location"),
            provider=_scoped(Provider, practice, data.get("provider"), "provider"),
        )
        return Response(AppointmentSerializer(rows, many=True).data)
    body = AppointmentCreateSerializer(data=request.data, context={"request": request})
    body.is_valid(raise_exception=True)
    try:
        appointment = services.appointment_book(
            practice=practice, source=Appointment.Source.API, booked_by=request.user, **body.validated_data
        )
    except services.SlotUnavailable as exc:
        return _conflict(exc)
    except services.BookingError as exc:
        raise serializers.ValidationError({"detail": str(exc)}) from exc
    return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


@audited("api appointment")
@extend_schema(responses={200: AppointmentSerializer, 404: ErrorSerializer}, summary="One appointment")
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def appointment_detail(request, pk: int):
    return Response(AppointmentSerializer(_appointment_for(request, pk)).data)


@extend_schema(
    request=RescheduleSerializer,
    responses={
        200: AppointmentSerializer,
        400: OpenApiResponse(description="Invalid input"),
        404: ErrorSerializer,
        409: ErrorSerializer,
    },
    summary="Move an appointment",
)
@api_view(["POST"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def appointment_reschedule(request, pk: int):
    appointment = _appointment_for(request, pk)
    body = RescheduleSerializer(data=request.data, context={"request": request})
    body.is_valid(raise_exception=True)
    try:
        appointment = services.appointment_reschedule(appointment=appointment, **body.validated_data)
    except services.BookingError as exc:
        return _conflict(exc)
    return Response(AppointmentSerializer(appointment).data)


@extend_schema(
    request=CancelSerializer,
    responses={
        200: AppointmentSerializer,
        400: OpenApiResponse(description="Invalid input"),
        404: ErrorSerializer,
        409: ErrorSerializer,
    },
    summary="Cancel an appointment (frees the time)",
)
@api_view(["POST"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def appointment_cancel(request, pk: int):
    appointment = _appointment_for(request, pk)
    body = CancelSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        outcome = services.appointment_cancel(appointment=appointment, reason=body.validated_data["reason"])
    except services.BookingError as exc:
        return _conflict(exc)
    return Response(AppointmentSerializer(outcome.appointment).data)


@audited("api appointment calendar")
@extend_schema(
    responses={(200, "text/calendar"): OpenApiTypes.BINARY, 404: ErrorSerializer},
    summary="The appointment as an iCalendar file",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def appointment_calendar(request, pk: int):
    appointment = _appointment_for(request, pk)
    response = HttpResponse(appointment_ics(appointment), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


class SeriesEnrollmentSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name")
    template_name = serializers.CharField(source="template.name")
    visits_total = serializers.IntegerField(source="template.visits")
    days_overdue = serializers.SerializerMethodField()

    class Meta:
        model = SeriesEnrollment
        fields = [
            "id",
            "patient",
            "patient_name",
            "template",
            "template_name",
            "visits_done",
            "visits_total",
            "last_visit_on",
            "next_due_from",
            "next_due_on",
            "next_due_until",
            "status",
            "days_overdue",
            "last_contact_at",
            "last_contact_outcome",
        ]

    def get_days_overdue(self, obj) -> int:
        return obj.days_overdue(timezone.localdate(timezone=obj.practice.zone))


@audited("api series enrollments")
@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=[choice for choice, _ in SeriesEnrollment.Status.choices], required=False)
    ],
    responses={200: SeriesEnrollmentSerializer(many=True), 400: OpenApiResponse(description="Invalid query")},
    summary="Treatment series enrollments",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def series_enrollments(request):
    rows = selectors.enrollments_for_practice(practice=request.practice).select_related("practice")
    wanted = request.query_params.get("status")
    if wanted:
        if wanted not in SeriesEnrollment.Status.values:
            raise serializers.ValidationError({"status": f"Use one of {', '.join(SeriesEnrollment.Status.values)}."})
        rows = rows.filter(status=wanted)
    return Response(SeriesEnrollmentSerializer(rows, many=True).data)
