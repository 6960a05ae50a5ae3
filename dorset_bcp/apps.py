from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site (dorset_bcp.admin_site) as admin.site."""

    default_site = "dorset_bcp.admin_site.PortalAdminSite"
