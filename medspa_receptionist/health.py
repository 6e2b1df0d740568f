"""/healthz: is the database answering, and is the task queue taking and running work?"""

from datetime import timedelta

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

# A schedule this late means no qcluster is running its scheduler (it looks every ~30 s).
SCHEDULER_STALL = timedelta(minutes=5)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means unhealthy; the type is what we report
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_task_queue() -> dict:
    from django_q.brokers import get_broker
    from django_q.models import Schedule

    try:
        broker = get_broker()
        broker.ping()
        queued = broker.queue_size()
        stalled = Schedule.objects.filter(next_run__lt=timezone.now() - SCHEDULER_STALL).exclude(repeats=0).count()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": stalled == 0,
        "broker": broker.info(),
        "queued": queued,
        "stalled_schedules": stalled,
    }


@never_cache
@require_GET
def healthz(request):
    database = check_database()
    task_queue = check_task_queue() if database["ok"] or _broker_is_redis() else {"ok": False, "error": "database"}
    healthy = database["ok"] and task_queue["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "database": database, "task_queue": task_queue},
        status=200 if healthy else 503,
    )


def _broker_is_redis() -> bool:
    from django.conf import settings

    return "redis" in settings.Q_CLUSTER
