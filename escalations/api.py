"""Escalations through the API: the queue with its summaries, claim and resolve."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from booking.api import ErrorSerializer, HasPractice
from practices.audit import audited

from . import services
from .models import Escalation


class EscalationSerializer(serializers.ModelSerializer):
    category_label = serializers.CharField(source="get_category_display", read_only=True)
    claimed_by = serializers.CharField(source="claimed_by.username", default=None, read_only=True, allow_null=True)
    routed_to = serializers.CharField(
        source="routed_to.user.username",
        default=None,
        read_only=True,
        allow_null=True,
        help_text="The staff member routing sent it to first (null: everyone who receives alerts).",
    )

    class Meta:
        model = Escalation
        fields = [
            "id",
            "category",
            "category_label",
            "priority",
            "status",
            "patient",
            "conversation",
            "summary",
            "reasons",
            "sla_due_at",
            "routed_to",
            "routing_note",
            "claimed_by",
            "claimed_at",
            "resolved_at",
            "resolution_note",
            "created_at",
        ]
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


def _scoped(request):
    return Escalation.objects.filter(practice=request.practice).select_related("claimed_by", "routed_to__user")


@audited("api escalations")
@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=Escalation.Status.values, required=False),
        OpenApiParameter("category", str, enum=Escalation.Category.values, required=False),
    ],
    responses={200: EscalationSerializer(many=True), 400: OpenApiResponse(description="Invalid query")},
    summary="Escalations, emergencies first, then by SLA",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def escalations(request):
    rows = _scoped(request)
    for name, values in (("status", Escalation.Status.values), ("category", Escalation.Category.values)):
        wanted = request.query_params.get(name)
        if wanted:
            if wanted not in values:
                raise serializers.ValidationError({name: f"Use one of {', '.join(values)}."})
            rows = rows.filter(**{name: wanted})
    return Response(EscalationSerializer(rows.order_by("priority", "sla_due_at"), many=True).data)


@audited("api escalation")
@extend_schema(responses={200: EscalationSerializer, 404: ErrorSerializer}, summary="One escalation")
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def escalation_detail(request, pk: int):
    return Response(EscalationSerializer(get_object_or_404(_scoped(request), pk=pk)).data)


@extend_schema(
    request=None,
    responses={200: EscalationSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    summary="Claim an escalation",
)
@api_view(["POST"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def escalation_claim(request, pk: int):
    escalation = get_object_or_404(_scoped(request), pk=pk)
    try:
        escalation = services.escalation_claim(escalation=escalation, user=request.user)
    except services.EscalationError as exc:
        return Response({"detail": str(exc)}, status=409)
    return Response(EscalationSerializer(escalation).data)


@extend_schema(
    request=ResolveSerializer,
    responses={200: EscalationSerializer, 400: OpenApiResponse(description="No note"), 404: ErrorSerializer},
    summary="Resolve an escalation with a note",
)
@api_view(["POST"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def escalation_resolve(request, pk: int):
    escalation = get_object_or_404(_scoped(request), pk=pk)
    body = ResolveSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    escalation = services.escalation_resolve(escalation=escalation, user=request.user, note=body.validated_data["note"])
    return Response(EscalationSerializer(escalation).data)
