"""Stored files handed back to the people allowed them (attachments, documents, data copies)."""

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404


def sandboxed_file_response(
    stored: FieldFile, *, content_type: str, filename: str, as_attachment: bool, missing: str
) -> FileResponse:
    """The file, with a policy that lets nothing in it run if a browser shows it inline.

    `missing` is the 404's words when the file is gone from storage.
    """
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404(missing) from None
    response = FileResponse(
        handle, content_type=content_type, as_attachment=as_attachment, filename=filename
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
