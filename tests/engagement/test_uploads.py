"""Uploads are bounded before they are read, and what is kept is checked and cleaned."""

import io
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.datastructures import MultiValueDict
from PIL import Image

from engagement.forms import ConcernForm
from engagement.models import Attachment, Concern
from tests import factories

GPS_LATITUDE = 0x8825  # the EXIF GPS IFD pointer


def photo_with_gps(image_format="JPEG", size=(40, 30)) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0112] = 6  # orientation: turn 90° clockwise to show
    exif.get_ifd(GPS_LATITUDE).update({1: "N", 2: (50.0, 42.0, 55.0), 3: "W", 4: (1.0, 59.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, image_format, exif=exif)
    return buffer.getvalue()


def huge_png(width=12_000, height=12_000) -> bytes:
    """A 144-megapixel PNG of a few kilobytes: one colour, compressed to nearly nothing."""
    import struct

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * width  # filter byte, then grey pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def form_with(owner, business, *files):
    data = factories.concern_form_data(business=business.pk)
    return ConcernForm(data, MultiValueDict({"attachments": list(files)}), user=owner)


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


# Images


def test_it_strips_gps_and_camera_details_from_a_photo(owner, business):
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_LATITUDE)
    form = form_with(owner, business, upload("shop.jpg", original, "image/jpeg"))
    assert form.is_valid(), form.errors
    [kept] = form.cleaned_data["attachments"]
    kept.seek(0)
    cleaned = Image.open(io.BytesIO(kept.read()))
    assert cleaned.format == "JPEG"
    assert dict(cleaned.getexif()) == {}
    assert b"PhoneMaker" not in kept.file.getvalue()
    # The orientation tag is gone, so the picture itself was turned the way it said.
    assert cleaned.size == (30, 40)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_it_strips_metadata_from_other_formats(owner, business, image_format):
    form = form_with(owner, business, upload("still", photo_with_gps(image_format)))
    assert form.is_valid(), form.errors
    [kept] = form.cleaned_data["attachments"]
    assert b"PhoneMaker" not in kept.file.getvalue()


def test_it_stores_the_cleaned_photo_not_the_upload(owner_client, business):
    data = factories.concern_form_data(business=business.pk)
    data["attachments"] = upload("shop.jpg", photo_with_gps(), "image/jpeg")
    assert factories.send_report(owner_client, data).status_code == 302
    attachment = Attachment.objects.get()
    stored = attachment.file.open("rb").read()
    assert b"PhoneMaker" not in stored
    assert attachment.size == len(stored)
    assert attachment.original_name == "shop.jpg"


def test_it_refuses_a_picture_of_too_many_pixels_before_decoding_it(owner, business):
    content = huge_png()
    assert len(content) < 200_000  # small on disk, 144 million pixels inside
    form = form_with(owner, business, upload("bomb.png", content, "image/png"))
    assert not form.is_valid()
    assert form.errors["attachments"][0].startswith(
        "“bomb.png” is 12,000 × 12,000 pixels; the most is 50 megapixels. Save a smaller copy "
        "(for example 4000 × 3000) and attach it again."
    )


def test_it_keeps_the_rest_of_the_form_when_a_file_is_refused(owner_client, business):
    data = factories.concern_form_data(business=business.pk, description="Gin taken at 4pm.")
    data["attachments"] = upload("bomb.png", huge_png(), "image/png")
    response = factories.send_report(owner_client, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "is 12,000 × 12,000 pixels" in page
    assert "Gin taken at 4pm." in page
    assert "passed the checks and are kept" not in page  # nothing else was attached
    assert not Concern.objects.exists()


# PDFs


def test_it_accepts_a_real_pdf(owner, business):
    form = form_with(owner, business, upload("statement.pdf", factories.pdf_bytes(2)))
    assert form.is_valid(), form.errors
    [kept] = form.cleaned_data["attachments"]
    assert kept.detected_kind == "application/pdf"


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n<html><script>alert(document.domain)</script></html>",
        b"%PDF-" + b"A" * 5000,
        factories.pdf_bytes()[:200],  # cut short
    ],
)
def test_it_refuses_a_file_that_only_starts_like_a_pdf(owner, business, content):
    form = form_with(owner, business, upload("statement.pdf", content))
    assert not form.is_valid()
    assert form.errors["attachments"][0].startswith(
        "“statement.pdf” is not a PDF that can be opened. Save it again as a PDF"
    )


def test_it_refuses_a_resource_document_that_only_starts_like_a_pdf():

    from resources.forms import detect_document_kind

    with pytest.raises(ValidationError, match="is not a PDF that can be opened"):
        detect_document_kind(upload("leaflet.pdf", b"%PDF-1.4\n<html></html>"))
    assert detect_document_kind(upload("leaflet.pdf", factories.pdf_bytes())) == ("application/pdf")


# The request as a whole


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_it_refuses_an_oversized_request_before_reading_its_body(settings, owner, business):
    client = Client()
    client.force_login(owner)
    declared = settings.REQUEST_MAX_BYTES + 1

    class Unread(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

    response = client.generic(
        "POST",
        "/report/new/",
        data=b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(declared),
        **{"wsgi.input": Unread()},
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert "The files you attached were too large" in page
    assert "up to 5 photos, CCTV stills or PDFs, each at most 10 MB" in page
    assert not Concern.objects.exists()


def test_it_reads_a_request_that_fits_the_attachment_rules(settings, owner_client, business):
    assert settings.REQUEST_MAX_BYTES == 5 * 10 * 1024 * 1024 + 1024 * 1024
    data = factories.concern_form_data(business=business.pk)
    data["attachments"] = factories.png_upload()
    assert factories.send_report(owner_client, data).status_code == 302


def test_it_bounds_what_is_held_in_memory(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE == 2 * 1024 * 1024


def test_it_refuses_a_picture_so_large_that_pillow_will_not_open_it(owner, business):
    form = form_with(owner, business, upload("bomb.png", huge_png(20_000, 10_000)))
    assert not form.is_valid()
    assert form.errors["attachments"][0].startswith("“bomb.png” has more than 50 megapixels.")


# Too many files


def test_it_explains_eleven_files_on_the_form_keeping_what_was_typed(client, area):
    data = factories.guest_form_data(description="Eleven photos of the same van.")
    data["attachments"] = [factories.png_upload(f"p{n}.png") for n in range(11)]
    response = factories.send_report(client, data, guest=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "You attached 11 files; the most is 5." in page
    assert "Eleven photos of the same van." in page
    assert not Concern.objects.exists()


def test_it_answers_a_flood_of_files_with_the_sites_400_page(client, area):
    data = factories.guest_form_data()
    data["attachments"] = [factories.png_upload(f"p{n}.png") for n in range(101)]
    response = factories.send_report(client, data, guest=True)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Dorset Business Crime Partnership" in page
    assert "<h1>We could not read that request</h1>" in page
    assert 'href="/report/"' in page
    assert "Traceback" not in page and "TooManyFilesSent" not in page
    assert not Concern.objects.exists()
