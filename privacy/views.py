from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dorset_bcp.files import sandboxed_file_response

from . import services
from .models import Page, RetentionRule


@require_POST
@login_required
def export_request(request):
    export, created = services.export_request(user=request.user)
    if created:
        messages.success(
            request,
            "We are preparing a copy of your data. We will email a link to "
            f"{request.user.email} when it is ready, usually within a few minutes.",
        )
    else:
        messages.info(
            request,
            "A copy of your data is already being prepared. We will email you a link when it "
            "is ready.",
        )
    return redirect("engagement:account")


@require_GET
@never_cache
@login_required
def export_download(request, token):
    # Only the person it was made for, signed in, before it expires: a forwarded or leaked
    # link is a 404 to anyone else.
    export = services.export_for_token(token=token, user=request.user)
    if export is None:
        raise Http404("This link has expired or is not yours. Ask for a new copy of your data.")
    return sandboxed_file_response(
        export.file,
        content_type="application/zip",
        as_attachment=True,
        filename=f"my-data-{export.ready_at:%Y-%m-%d}.zip",
        missing="This copy has been deleted. Ask for a new copy of your data.",
    )


def _blocks(body: str) -> list[dict[str, Any]]:
    """Plain text into headings, paragraphs and lists; the template escapes every word."""
    blocks: list[dict[str, Any]] = []
    for chunk in body.replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in chunk.strip().split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("## ") and len(lines) == 1:
            blocks.append({"kind": "heading", "text": lines[0][3:].strip()})
        elif all(line.startswith("- ") for line in lines):
            blocks.append({"kind": "list", "items": [line[2:].strip() for line in lines]})
        else:
            blocks.append({"kind": "paragraph", "lines": lines})
    return blocks


def _page(request, slug, **context):
    page = get_object_or_404(Page, slug=slug)
    return render(
        request, "privacy/page.html", {"page": page, "blocks": _blocks(page.body), **context}
    )


@require_GET
def privacy_notice(request):
    # The periods in force, as the administrators set them, under the notice's own words.
    return _page(request, Page.Slug.PRIVACY, retention=RetentionRule.objects.filter(is_active=True))


@require_GET
def accessibility_statement(request):
    return _page(request, Page.Slug.ACCESSIBILITY)
