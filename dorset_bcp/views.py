"""The admin's "View on site", sent to SITE_URL.

Django's own redirect (contenttypes' shortcut) takes the domain from the Sites framework, whose
row said example.com until a migration set it, and would say whatever the row says if SITE_URL
changes later; it also serves any object to anyone. This one answers staff only, for objects
their admin lets them view, and builds the address from SITE_URL, as every email does.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect


def view_on_site(request, content_type_id, object_id):
    """Redirect to the object's page at SITE_URL."""
    try:
        content_type = ContentType.objects.get_for_id(content_type_id)
        obj = content_type.get_object_for_this_type(pk=object_id)
        model_admin = admin.site.get_model_admin(content_type.model_class())
    except (ObjectDoesNotExist, ValueError, ValidationError, NotRegistered):
        raise Http404("Nothing here.") from None
    if not model_admin.view_on_site or not hasattr(obj, "get_absolute_url"):
        raise Http404("This has no page on the site.")
    if not model_admin.has_view_permission(request, obj):
        raise Http404("Nothing here.")
    return redirect(settings.SITE_URL + obj.get_absolute_url())
