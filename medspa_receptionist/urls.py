from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from analytics import api as analytics_api
from booking import feeds as booking_feeds
from booking import intake_views
from calls import api as calls_api
from escalations import api as escalations_api

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("console/", include("medspa_receptionist.console.urls")),
    # A new patient's intake form: public, opened only by its signed link (booking/intake.py).
    path("intake/<str:token>/", intake_views.intake_form, name="intake-form"),
    path("analytics/", include("analytics.urls")),
    path("admin/", admin.site.urls),
    path("", include("calls.urls")),
    path("api/v1/", include("booking.urls")),
    path("calendar/feed/<str:token>.ics", booking_feeds.provider_feed, name="calendar-feed"),
    path("api/v1/conversations/", calls_api.conversations, name="api-conversations"),
    path("api/v1/conversations/<int:pk>/", calls_api.conversation_detail, name="api-conversation"),
    path("api/v1/escalations/", escalations_api.escalations, name="api-escalations"),
    path("api/v1/escalations/<int:pk>/", escalations_api.escalation_detail, name="api-escalation"),
    path("api/v1/escalations/<int:pk>/claim/", escalations_api.escalation_claim, name="api-escalation-claim"),
    path("api/v1/escalations/<int:pk>/resolve/", escalations_api.escalation_resolve, name="api-escalation-resolve"),
    path("api/v1/analytics/summary/", analytics_api.summary, name="api-analytics-summary"),
    path("api/v1/analytics/quality/", analytics_api.quality, name="api-analytics-quality"),
    path("api/v1/analytics/series-review/", analytics_api.series_review, name="api-analytics-series-review"),
    path("api/v1/analytics/roi/", analytics_api.roi, name="api-analytics-roi"),
    path("api/v1/analytics/me/", analytics_api.mine, name="api-analytics-me"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

handler404 = "medspa_receptionist.views.not_found"
