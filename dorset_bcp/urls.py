from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "Dorset Business Crime Partnership"
admin.site.site_title = "Dorset Business Crime admin"
admin.site.index_title = "Triage and administration"

urlpatterns = [
    # Before the admin's own URLs, so the admin's "View on site" (admin:view_on_site, this path)
    # lands here and goes to SITE_URL: see dorset_bcp/views.py.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        admin.site.admin_view(views.view_on_site),
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("partnership/", include("escalation.urls")),
    path("", include("engagement.urls")),
    path("", include("resources.urls")),
    path("", include("privacy.urls")),
]
