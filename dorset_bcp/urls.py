from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Dorset Business Crime Partnership"
admin.site.site_title = "Dorset Business Crime admin"
admin.site.index_title = "Triage and administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("partnership/", include("escalation.urls")),
    path("", include("engagement.urls")),
    path("", include("resources.urls")),
]
