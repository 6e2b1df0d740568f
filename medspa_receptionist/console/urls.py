from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="console-home"),
    path("counts/", views.counts, name="console-counts"),
    path("escalations/", views.escalation_list, name="console-escalations"),
    path("escalations/<int:pk>/claim/", views.escalation_claim, name="console-escalation-claim"),
    path("escalations/<int:pk>/note/", views.escalation_note, name="console-escalation-note"),
    path("escalations/<int:pk>/resolve/", views.escalation_resolve, name="console-escalation-resolve"),
    path("callbacks/", views.callback_list, name="console-callbacks"),
    path("problems/", views.problem_list, name="console-problems"),
    path("callbacks/<int:pk>/done/", views.callback_done, name="console-callback-done"),
    path("series/", views.series_list, name="console-series"),
    path("series/<int:pk>/prompt/", views.series_prompt_send, name="console-series-prompt"),
    path("series/<int:pk>/follow-up/", views.series_follow_up, name="console-series-follow-up"),
    path("conversations/", views.conversation_list, name="console-conversations"),
    path("conversations/<int:pk>/", views.conversation_detail, name="console-conversation"),
    path("conversations/<int:pk>/take-over/", views.conversation_take_over, name="console-conversation-take-over"),
    path("conversations/<int:pk>/hand-back/", views.conversation_hand_back, name="console-conversation-hand-back"),
    path("conversations/<int:pk>/reply/", views.conversation_reply, name="console-conversation-reply"),
    path("schedule/", views.schedule, name="console-schedule"),
    path("schedule/book/", views.slot_picker, name="console-book"),
    path("schedule/book/confirm/", views.book, name="console-book-confirm"),
    path("appointments/<int:pk>/<slug:action>/", views.appointment_action, name="console-appointment-action"),
    path("patients/<int:pk>/", views.patient_detail, name="console-patient"),
    path("patients/<int:pk>/phone/", views.patient_phone, name="console-patient-phone"),
]
