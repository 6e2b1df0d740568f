"""Conversations through the API: each thread, its state and GLOW scores, and its messages with what
the receptionist understood of each."""

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from booking.api import ErrorSerializer, HasPractice
from practices.audit import audited

from .models import BY_ACTIVITY, Conversation, Message


class MessageSerializer(serializers.ModelSerializer):
    service = serializers.SerializerMethodField()
    times = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "channel",
            "sender",
            "kind",
            "body",
            "status",
            "intent",
            "service",
            "times",
            "created_at",
        ]
        read_only_fields = fields

    def get_service(self, obj) -> str | None:
        return (obj.extracted or {}).get("service")

    def get_times(self, obj) -> dict | None:
        return (obj.extracted or {}).get("times")


class ConversationSerializer(serializers.ModelSerializer):
    glow_scores = serializers.SerializerMethodField()
    message_count = serializers.IntegerField(read_only=True)
    taken_over = serializers.BooleanField(source="staff_has_it", read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "phone",
            "channel",
            "patient",
            "location",
            "state",
            "priority",
            "glow_scores",
            "taken_over",
            "last_inbound_at",
            "last_outbound_at",
            "message_count",
            "created_at",
        ]
        read_only_fields = fields

    def get_glow_scores(self, obj) -> dict:
        return (obj.context or {}).get("scores", {})


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        read_only_fields = fields


def _scoped(request):
    return Conversation.objects.filter(practice=request.practice).annotate(message_count=Count("messages"))


@audited("api conversations")
@extend_schema(
    parameters=[OpenApiParameter("state", str, enum=Conversation.State.values, required=False)],
    responses={200: ConversationSerializer(many=True), 400: OpenApiResponse(description="Invalid query")},
    summary="Conversations, newest activity first",
)
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def conversations(request):
    rows = _scoped(request).order_by(*BY_ACTIVITY)
    state = request.query_params.get("state")
    if state:
        if state not in Conversation.State.values:
            raise serializers.ValidationError({"state": f"Use one of {', '.join(Conversation.State.values)}."})
        rows = rows.filter(state=state)
    return Response(ConversationSerializer(rows[:200], many=True).data)


@audited("api conversation")
@extend_schema(responses={200: ConversationDetailSerializer, 404: ErrorSerializer}, summary="One conversation")
@api_view(["GET"])
@permission_classes([permissions.IsAuthenticated, HasPractice])
def conversation_detail(request, pk: int):
    conversation = get_object_or_404(_scoped(request).prefetch_related("messages"), pk=pk)
    return Response(ConversationDetailSerializer(conversation).data)
