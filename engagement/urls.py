from django.urls import path

from . import views

app_name = "engagement"

urlpatterns = [
    path("", views.home, name="home"),
    path("report/", views.report_start, name="report_start"),
    path("report/new/", views.report_new, name="report_new"),
    path("report/new/<uuid:key>/check/", views.report_new_check, name="report_new_check"),
    path("report/guest/", views.report_guest, name="report_guest"),
    path("report/guest/<uuid:key>/check/", views.report_guest_check, name="report_guest_check"),
    path("report/guest/sent/", views.guest_submitted, name="guest_submitted"),
    path("report/lost-link/", views.guest_link, name="guest_link"),
    path("report/lost-link/sent/", views.guest_link_sent, name="guest_link_sent"),
    path("report/track/<str:token>/", views.guest_track, name="guest_track"),
    path("report/track/<str:token>/attach/", views.guest_attach, name="guest_attach"),
    path("report/track/<str:token>/withdraw/", views.guest_withdraw, name="guest_withdraw"),
    path("report/track/<str:token>/reply/", views.guest_reply, name="guest_reply"),
    path("report/track/<str:token>/feedback/", views.guest_feedback, name="guest_feedback"),
    path("report/<str:reference>/submitted/", views.report_submitted, name="report_submitted"),
    path("my/", views.my_dashboard, name="my_dashboard"),
    path("my/account/", views.account, name="account"),
    path(
        "my/account/sign-out-everywhere/",
        views.account_sign_out_everywhere,
        name="account_sign_out_everywhere",
    ),
    path("my/account/delete/", views.account_delete, name="account_delete"),
    path("my/businesses/add/", views.business_add, name="business_add"),
    path("my/businesses/<int:pk>/", views.business_edit, name="business_edit"),
    path("my/concerns/<str:reference>/", views.concern_detail, name="concern_detail"),
    path("my/concerns/<str:reference>/reply/", views.concern_reply, name="concern_reply"),
    path("my/concerns/<str:reference>/feedback/", views.concern_feedback, name="concern_feedback"),
    path("my/concerns/<str:reference>/attach/", views.concern_attach, name="concern_attach"),
    path("my/concerns/<str:reference>/withdraw/", views.concern_withdraw, name="concern_withdraw"),
    path(
        "my/concerns/<str:reference>/attachments/<int:pk>/",
        views.attachment_download,
        name="attachment_download",
    ),
    path("healthz", views.healthz, name="healthz"),
]
