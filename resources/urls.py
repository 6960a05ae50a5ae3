from django.urls import path

from . import views

app_name = "resources"

urlpatterns = [
    path("resources/", views.resource_list, name="resource_list"),
    path("resources/<slug:slug>/", views.resource_detail, name="resource_detail"),
    path("resources/<slug:slug>/document/", views.resource_document, name="resource_document"),
    path("watch-schemes/", views.scheme_list, name="scheme_list"),
    path("watch-schemes/<slug:slug>/", views.scheme_detail, name="scheme_detail"),
    path("watch-schemes/<slug:slug>/apply/", views.scheme_apply, name="scheme_apply"),
    path(
        "watch-schemes/<slug:slug>/memberships/<int:pk>/alerts/",
        views.membership_preference,
        name="membership_preference",
    ),
    path(
        "watch-schemes/<slug:slug>/memberships/<int:pk>/leave/",
        views.membership_leave,
        name="membership_leave",
    ),
    path("watch-schemes/<slug:slug>/alerts/", views.alert_list, name="alert_list"),
    path("watch-schemes/<slug:slug>/alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("watch-schemes/<slug:slug>/manage/", views.scheme_manage, name="scheme_manage"),
    path(
        "watch-schemes/<slug:slug>/manage/applications/<int:pk>/",
        views.membership_decide,
        name="membership_decide",
    ),
    path("watch-schemes/<slug:slug>/manage/alerts/", views.alert_new, name="alert_new"),
    path("seminars/", views.seminar_list, name="seminar_list"),
    path("seminars/bookings/<int:pk>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("seminars/<slug:slug>/", views.seminar_detail, name="seminar_detail"),
    path("seminars/<slug:slug>/book/", views.seminar_book, name="seminar_book"),
    path("seminars/<slug:slug>/calendar.ics", views.seminar_ics, name="seminar_ics"),
    path("contacts/", views.contacts, name="contacts"),
]
