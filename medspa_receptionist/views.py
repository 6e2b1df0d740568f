from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from practices.tenancy import practice_for_user


@require_GET
def home(request):
    return render(request, "home.html", {"practice": practice_for_user(request.user), "demo_mode": settings.DEMO_MODE})
