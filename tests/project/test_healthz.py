from datetime import timedelta
from unittest import mock

from django.db import OperationalError, connection
from django.utils import timezone
from django_q.models import Schedule

from medspa_receptionist.tasks import ensure_schedules


def test_healthz_reports_a_working_database_and_task_queue(client, db):
    ensure_schedules()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["task_queue"] == {
        "ok": True,
        "broker": body["task_queue"]["broker"],
        "queued": 0,
        "stalled_schedules": 0,
    }


def test_healthz_reports_a_broken_database_as_unhealthy(client, db):
    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server")

    with mock.patch.object(connection, "cursor", refuse):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert body["task_queue"]["ok"] is False


def test_healthz_reports_a_scheduler_that_stopped_running_as_unhealthy(client, db):
    ensure_schedules()
    Schedule.objects.update(next_run=timezone.now() - timedelta(minutes=30))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["task_queue"]["stalled_schedules"] == Schedule.objects.count() >= 2


def test_ensure_schedules_is_safe_to_run_again(db):
    ensure_schedules()
    ensure_schedules()
    assert Schedule.objects.filter(name="heartbeat").count() == 1
    assert Schedule.objects.filter(name="series-sweep", func="booking.tasks.series_sweep_all").count() == 1
