"""Middleware of the portal's own."""

from django.conf import settings
from django.shortcuts import render


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
