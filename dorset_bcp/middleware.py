"""Middleware of the portal's own."""

from django.conf import settings
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is larger than the portal could ever accept.

    Django reads multipart bodies as they arrive, holding what fits in memory and streaming the
    rest to disk, and only then can a form say a file is too big: a 60 MB post was received and
    parsed before it was refused. The largest acceptable request is known from the attachment
    rules (REQUEST_MAX_BYTES), so anything declaring more is answered with 413 from its
    Content-Length alone, before a byte of the body is read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # as Django reads it: no body
        if declared > settings.REQUEST_MAX_BYTES:
            return render(
                request,
                "413.html",
                {
                    "max_files": settings.ATTACHMENT_MAX_FILES,
                    "max_file_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
                    "sent_mb": declared // (1024 * 1024),
                },
                status=413,
            )
        return self.get_response(request)


# Powerful browser features no page of the portal uses, switched off for every page and for
# anything an attacker might manage to embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)
# Pages reached by a private link show a guest their report without an account.
PRIVATE_LINK_PREFIXES = ("/report/track/",)


class PrivacyHeadersMiddleware:
    """Permissions-Policy on every response; no-store on everything that may show personal data.

    A signed-in person's pages (/my/, their concerns and downloads, /partnership/, the admin)
    and a guest's private-link pages must not be kept by the browser's cache or a shared proxy,
    where the next person at a shared computer could open them from history."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or request.path.startswith(PRIVATE_LINK_PREFIXES):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response
