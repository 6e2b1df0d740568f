"""The project's URLs plus /bench/trivial/, the baseline for benchmarks/webhooks.py.

The trivial view goes through the same server and middleware as the webhooks and does nothing
else, so the difference between the two is the webhooks' own work. It takes a POST without a CSRF
token, like a webhook.
"""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from medspa_receptionist.urls import urlpatterns as project_urlpatterns


@csrf_exempt
def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial, name="bench-trivial"), *project_urlpatterns]
