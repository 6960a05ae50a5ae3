from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("privacy/", views.privacy_notice, name="privacy"),
    path("accessibility/", views.accessibility_statement, name="accessibility"),
    path("my/account/data/", views.export_request, name="export_request"),
    path("my/account/data/<str:token>/", views.export_download, name="export_download"),
]
