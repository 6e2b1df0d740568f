"""Every view of patient data leaves an append-only audit row, and no row means no page."""

from unittest import mock

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse
from rest_framework.authtoken.models import Token

from practices.models import AuditEvent
from tests.console.conftest import build_desk
from tests.factories import StaffMemberFactory


@pytest.fixture
def desk(db):
    return build_desk()


@pytest.fixture
def desk_user(desk):
    return StaffMemberFactory(practice=desk["practice"], role="front_desk", user__username="riley").user


@pytest.fixture
def manager_user(desk):
    return StaffMemberFactory(practice=desk["practice"], role="manager", user__username="morgan").user


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-id").first()


@pytest.mark.parametrize(
    ("url_name", "kwarg", "what"),
    [
        ("console-patient", "patient", "patient"),
        ("console-patient-phone", "patient", "patient phone"),
        ("console-conversation", "conversation", "conversation"),
        ("console-escalations", None, "escalation list"),
        ("console-callbacks", None, "callback list"),
        ("console-conversations", None, "conversation list"),
        ("console-schedule", None, "schedule"),
        ("console-series", None, "series list"),
    ],
)
def test_each_console_read_writes_who_what_when_and_where(client, desk, desk_user, url_name, kwarg, what):
    client.force_login(desk_user)
    url = reverse(url_name, args=[desk[kwarg].pk]) if kwarg else reverse(url_name)
    response = client.get(url, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Tablet at the desk")
    assert response.status_code == 200
    event = last_event()
    assert (event.username, event.user, event.practice, event.what) == ("riley", desk_user, desk["practice"], what)
    assert event.object_id == (str(desk[kwarg].pk) if kwarg else "")
    assert (event.method, event.path, event.ip, event.user_agent) == ("GET", url, "203.0.113.9", "Tablet at the desk")


def test_api_reads_are_audited_with_the_token_user(client, desk, desk_user):
    token = Token.objects.create(user=desk_user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    for url, what, object_id in [
        (f"/api/v1/conversations/{desk['conversation'].pk}/", "api conversation", str(desk["conversation"].pk)),
        ("/api/v1/escalations/", "api escalations", ""),
        (f"/api/v1/appointments/{desk['appointment'].pk}/", "api appointment", str(desk["appointment"].pk)),
    ]:
        assert client.get(url, **auth).status_code == 200
        event = last_event()
        assert (event.user, event.what, event.object_id) == (desk_user, what, object_id)


def test_admin_change_and_history_pages_and_exports_are_audited(client, desk, manager_user):
    client.force_login(manager_user)
    patient = desk["patient"]
    assert client.get(reverse("admin:practices_patient_change", args=[patient.pk])).status_code == 200
    assert (last_event().what, last_event().object_id) == ("admin patient", str(patient.pk))
    assert client.get(reverse("admin:practices_patient_history", args=[patient.pk])).status_code == 200
    assert last_event().what == "admin patient history"
    assert client.get("/analytics/export/cancellations.csv").status_code == 200
    assert (last_event().what, last_event().object_id) == ("analytics export", "cancellations")


def test_refused_and_missing_reads_are_not_written_as_views(client, desk, desk_user):
    client.force_login(desk_user)
    before = AuditEvent.objects.count()
    assert client.get(reverse("console-patient", args=[999999])).status_code == 404
    client.logout()
    assert client.get(reverse("console-patient", args=[desk["patient"].pk])).status_code == 302
    assert AuditEvent.objects.count() == before


def test_a_failed_audit_write_fails_the_request_and_shows_nothing(client, desk, desk_user):
    client.force_login(desk_user)
    client.raise_request_exception = False
    with mock.patch.object(AuditEvent.objects, "create", side_effect=DatabaseError("audit table unavailable")):
        response = client.get(reverse("console-patient", args=[desk["patient"].pk]))
    assert response.status_code == 500
    assert "Olivia" not in response.content.decode()


def test_audit_rows_cannot_be_changed_or_deleted(client, desk, desk_user, manager_user):
    client.force_login(desk_user)
    client.get(reverse("console-patient", args=[desk["patient"].pk]))
    event = last_event()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(what="nothing")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(IntegrityError if connection.vendor == "sqlite" else DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE practices_auditevent SET what = 'nothing' WHERE id = %s", [event.pk])
    # The admin shows the trail to managers, read-only.
    client.force_login(manager_user)
    change = client.get(reverse("admin:practices_auditevent_change", args=[event.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert client.get(reverse("admin:practices_auditevent_delete", args=[event.pk])).status_code == 403
    assert client.get(reverse("admin:practices_auditevent_add")).status_code == 403
