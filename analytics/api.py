"""The dashboard's figures through the API: /api/v1/analytics/..."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from booking.api import ErrorSerializer, HasPractice
from practices.tenancy import user_manages

from . import quality as receptionist_quality
from . import selectors
from .filters import EARLIEST, LATEST, Filters


def plain(value):
    """Money as exact strings ("400.00"), never floats; everything else as JSON has it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class Manages(permissions.BasePermission):
    message = "Practice analytics are for managers and owners."

    def has_permission(self, request, view):
        return user_manages(request.user)


FILTERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, required=False, description="First local day (default: 27 days ago)."),
    OpenApiParameter(
        "end", OpenApiTypes.DATE, required=False, description="Last local day, inclusive (default: today)."
    ),
    OpenApiParameter("location", int, required=False),
    OpenApiParameter("source", str, required=False, description='A campaign source code, or "direct".'),
    OpenApiParameter("service", int, required=False),
]
OBJECT = OpenApiResponse(OpenApiTypes.OBJECT)
BAD = OpenApiResponse(OpenApiTypes.OBJECT, description="Which filter is wrong, and why.")


def _filters(request):
    try:
        return Filters.from_query(request.practice, request.query_params), None
    except ValidationError as error:
        return None, Response(error.message_dict, status=400)


@extend_schema(
    parameters=FILTERS,
    responses={200: OBJECT, 400: BAD, 403: ErrorSerializer},
    summary="Every dashboard figure: calls, funnel, speed-to-lead, revenue, visits, escalations, campaigns, series",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice, Manages])
def summary(request):
    filters, error = _filters(request)
    if error:
        return error
    return Response(plain(selectors.dashboard(request.practice, filters).as_dict()))


@extend_schema(
    parameters=FILTERS,
    responses={200: OBJECT, 400: BAD, 403: ErrorSerializer},
    summary="Receptionist quality: approved answers, staff review, adverse-event handoffs, summaries, "
    "messages per booking, handover reasons",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice, Manages])
def quality(request):
    filters, error = _filters(request)
    if error:
        return error
    return Response({"filters": filters.as_query(), **receptionist_quality.figures(request.practice, filters)})


@extend_schema(
    parameters=[OpenApiParameter("week", OpenApiTypes.DATE, required=False, description="Any day of the week.")],
    responses={200: OBJECT, 400: BAD, 403: ErrorSerializer},
    summary="The weekly series review, per series template and per provider",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice, Manages])
def series_review(request):
    raw = request.query_params.get("week")
    try:
        week = date.fromisoformat(raw) if raw else selectors.practice_today(request.practice)
    except ValueError:
        return Response({"week": ["The week must be a date like 2026-11-16."]}, status=400)
    if not EARLIEST <= week <= LATEST:
        return Response({"week": [f"The week must be between {EARLIEST} and {LATEST}."]}, status=400)
    review = selectors.series_review(request.practice, week_start=week)
    return Response(plain({**review, "overview": selectors.series_overview(request.practice)}))


@extend_schema(responses={200: OBJECT, 403: ErrorSerializer}, summary="The ROI model's inputs and what was recovered")
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice, Manages])
def roi(request):
    inputs, actual = selectors.roi_defaults(request.practice)
    return Response(
        plain(
            {
                "inputs": {
                    "monthly_calls": inputs.monthly_calls,
                    "booking_intent_percent": inputs.booking_intent_percent,
                    "recovery_lift_percent": inputs.recovery_lift_percent,
                    "average_visit_value": inputs.average_visit_value,
                },
                "modeled_monthly_visits": inputs.modeled_monthly_visits,
                "modeled_monthly_value": inputs.modeled_monthly_value,
                "actual": actual,
            }
        )
    )


@extend_schema(
    parameters=FILTERS[:2],
    responses={200: OBJECT, 400: BAD, 403: ErrorSerializer},
    summary="The signed-in member of staff's own queue figures",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def mine(request):
    filters, error = _filters(request)
    if error:
        return error
    return Response(selectors.staff_figures(request.practice, request.user, filters))
