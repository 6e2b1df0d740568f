from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from practices.tenancy import practice_for_user


@require_GET
def home(request):
    """Staff of a practice start in their console; everyone else sees what this is and a sign-in."""
    if practice_for_user(request.user) is not None:
        return redirect("console-home")
    return render(request, "home.html", {"practice": None})


def not_found(request, exception=None):
    """The API answers an unknown address in JSON, as its schema says; pages get Django's 404 page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
