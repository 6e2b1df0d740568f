from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from practices.tenancy import practice_for_user


@require_GET
def home(request):
    """Staff of a practice start in their console; everyone else sees what this is and a sign-in."""
    if practice_for_user(request.user) is not None:
        return redirect("console-home")
    return render(request, "home.html", {"practice": None})
