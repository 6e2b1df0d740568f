"""Sessions end after SESSION_IDLE_SECONDS without activity and SESSION_MAX_SECONDS after sign-in.

A page polling by itself (the queue counts, an open thread refreshing) is not activity: an unattended
tablet signs itself out. An expired htmx request is told to load the sign-in page instead of swapping
it into the page.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse

# The ids of the elements that poll (their htmx requests carry the id in HX-Trigger).
POLLING = {"queue-counts", "conversation-rows", "thread"}


def mark_sign_in(sender, request, user, **kwargs):
    """Connected to user_logged_in: the 12 hours count from the sign-in itself."""
    now = time.time()
    request.session["signed_in_at"] = now
    request.session["last_seen"] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            session = request.session
            started = session.setdefault("signed_in_at", now)
            last_seen = session.get("last_seen", started)
            if now - started > settings.SESSION_MAX_SECONDS or now - last_seen > settings.SESSION_IDLE_SECONDS:
                logout(request)
                return self._expired(request)
            if request.headers.get("HX-Trigger") not in POLLING:
                session["last_seen"] = now
        return self.get_response(request)

    @staticmethod
    def _expired(request):
        login = redirect_to_login(request.get_full_path())
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login["Location"]
            return response
        if request.path.startswith("/api/"):
            return HttpResponse('{"detail": "Your session has expired."}', status=401, content_type="application/json")
        return login
