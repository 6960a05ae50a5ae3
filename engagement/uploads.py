"""What an uploaded file really is, checked before anything keeps it.

Images are decoded only after their size in pixels is known to be sane, then re-encoded: what
is kept is the picture, never the camera's metadata (EXIF, GPS position, comments). PDFs are
parsed by pypdf, not recognised by their first five bytes.
"""

import io
import logging
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.errors import PyPdfError

logger = logging.getLogger(__name__)

# What an upload's bytes must turn out to be, whatever its name says. MPO is how Pillow reads
# many phone cameras' JPEGs (a photo with a preview inside); it is kept as a plain JPEG.
IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
SAVE_AS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
_IMAGE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
)


def display_name(upload) -> str:
    return (upload.name or "file")[:80]


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.0f} megapixels"


def sanitised_image(upload) -> tuple[str, SimpleUploadedFile] | None:
    """(content type, re-encoded copy without metadata) if the upload is an image we take;
    None if it is not an image at all; ValidationError if it is one we refuse."""
    name = display_name(upload)
    upload.seek(0)
    too_many_pixels = ValidationError(
        f"“{name}” has more than {_megapixels(settings.ATTACHMENT_MAX_PIXELS)}. Save a smaller "
        "copy (for example 4000 × 3000) and attach it again."
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit; the check below is the portal's, and stricter.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(upload)
    except Image.DecompressionBombError:  # far beyond any limit: Pillow refuses to open it
        raise too_many_pixels from None
    except _IMAGE_ERRORS as exc:
        logger.info("Upload %r is not an image: %s", name, exc)
        upload.seek(0)
        return None
    try:
        with image:
            image_format, (width, height) = image.format, image.size
            # Image.open reads only the header: the size is known before a pixel is decoded,
            # so a small file that would unpack into gigabytes is refused here.
            if width * height > settings.ATTACHMENT_MAX_PIXELS:
                raise ValidationError(
                    f"“{name}” is {width:,} × {height:,} pixels; the most is "
                    f"{_megapixels(settings.ATTACHMENT_MAX_PIXELS)}. Save a smaller copy "
                    "(for example 4000 × 3000) and attach it again."
                )
            if image_format not in IMAGE_FORMATS:
                return None
            image.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            kind = IMAGE_FORMATS[image_format]
            data = _reencoded(image, SAVE_AS[kind])
    except _IMAGE_ERRORS as exc:
        logger.info("Upload %r is not a usable image: %s", name, exc)
        return None
    finally:
        upload.seek(0)
    return kind, SimpleUploadedFile(upload.name or "image", data, content_type=kind)


def _reencoded(image: Image.Image, save_as: str) -> bytes:
    """The picture drawn afresh: no EXIF, GPS, XMP or comments survive, only the pixels (turned
    the way the camera's orientation tag said, since the tag itself is dropped)."""
    out = io.BytesIO()
    icc_profile = image.info.get("icc_profile")  # colours, not metadata about anyone
    if save_as == "GIF":
        frames = getattr(image, "n_frames", 1)
        image.save(out, "GIF", save_all=frames > 1)
        return out.getvalue()
    picture = ImageOps.exif_transpose(image)
    if save_as == "JPEG" and picture.mode not in ("RGB", "L"):
        picture = picture.convert("RGB")
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if save_as in ("JPEG", "WEBP"):
        options["quality"] = 90
    picture.save(out, save_as, **options)
    return out.getvalue()


def check_pdf(upload) -> None:
    """ValidationError unless pypdf can read the upload as a PDF with at least one page."""
    name = display_name(upload)
    upload.seek(0)
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                f"“{name}” is protected with a password. Save a copy without the password "
                "and attach that."
            )
        pages = len(reader.pages)
    except ValidationError:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, OSError, RecursionError) as exc:
        logger.info("Upload %r is not a readable PDF: %s", name, exc)
        pages = 0
    finally:
        upload.seek(0)
    if pages < 1:
        raise ValidationError(
            f"“{name}” is not a PDF that can be opened. Save it again as a PDF (for example "
            "with “Print to PDF”) and attach the new copy."
        )


def looks_like_pdf(upload) -> bool:
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(0)
    return b"%PDF-" in head
