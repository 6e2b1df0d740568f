"""The audit trail of who looked at patient data.

`audited("patient")` wraps a view: after the view has built its response, and before anything is
sent, one AuditEvent is written. If that write fails the exception propagates and the request fails,
so patient data is never shown without its audit row. Responses that show nothing (4xx, redirects)
are not audited.
"""

import ipaddress
from functools import wraps

from .models import AuditEvent
from .tenancy import practice_for_user


def audit_read(request, what: str, object_id="") -> AuditEvent:
    user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    # Behind the proxy the client is the first X-Forwarded-For address; anything that is not an IP is ignored.
    candidates = [request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip(), request.META.get("REMOTE_ADDR")]
    ip = next((value for value in candidates if value and _is_ip(value)), None)
    return AuditEvent.objects.create(
        practice=getattr(request, "practice", None) or (practice_for_user(user) if user else None),
        user=user,
        username=user.get_username() if user else "",
        what=what[:60],
        object_id=str(object_id or "")[:40],
        method=request.method[:8],
        path=request.path[:300],
        ip=ip,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
    )


def audited(what: str, *, id_kwarg: str = "pk"):
    """Audit a view of patient data; the object's id is the URL's `id_kwarg` when it has one."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if request.method in ("GET", "HEAD") and 200 <= response.status_code < 300:
                # A DRF view authenticates its own request (tokens): audit the user it found.
                drf_request = (getattr(response, "renderer_context", None) or {}).get("request")
                audit_read(drf_request or request, what, kwargs.get(id_kwarg, ""))
            return response

        return wrapper

    return decorate


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
