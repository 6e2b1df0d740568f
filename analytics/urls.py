from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="analytics"),
    path("series/", views.series_review, name="analytics-series"),
    path("roi/", views.roi, name="analytics-roi"),
    path("quality/", views.receptionist_quality, name="analytics-quality"),
    path("export/<slug:table>.csv", views.export, name="analytics-export"),
]
