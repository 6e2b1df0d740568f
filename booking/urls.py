from django.urls import path

from . import api

urlpatterns = [
    path("availability/", api.availability, name="api-availability"),
    path("appointments/", api.appointments, name="api-appointments"),
    path("appointments/<int:pk>/", api.appointment_detail, name="api-appointment"),
    path("appointments/<int:pk>/reschedule/", api.appointment_reschedule, name="api-appointment-reschedule"),
    path("appointments/<int:pk>/cancel/", api.appointment_cancel, name="api-appointment-cancel"),
    path("appointments/<int:pk>/calendar.ics", api.appointment_calendar, name="api-appointment-ics"),
    path("series-enrollments/", api.series_enrollments, name="api-series-enrollments"),
]
