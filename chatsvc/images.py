"""Residents' photos decoded and drawn again: only pixels we made ourselves are ever stored.

A photo is decoded in full (a file that only starts like an image, a truncated one or a
polyglot with HTML after its header is refused), its size in pixels is checked before any pixel
is decoded (a decompression bomb is refused from its header), and it is encoded again in its
own type, without its metadata: the EXIF block (GPS position, the device, the time) is not
copied, and bytes after the image's end are not either. Pure and synchronous: the transport
runs it in a small worker pool, off the event loop.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

# Pillow warns (not refuses) between its limit and twice that: a warning is a refusal here.
warnings.simplefilter("error", Image.DecompressionBombWarning)

# What we take, by Pillow's format name: the content type and how it is written again.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


class NotAnImage(ValueError):
    """The bytes are not a JPEG, PNG or WebP image that decodes in full."""


class TooManyPixels(NotAnImage):
    """The image is larger, in pixels, than we decode."""


@dataclass(frozen=True)
class CleanImage:
    """An image drawn again by Pillow from a decoded upload, without its metadata."""

    content_type: str
    data: bytes
    width: int
    height: int


def clean_image(data: bytes, *, max_pixels: int) -> CleanImage:
    """Decode `data` in full and encode it again without metadata, or raise NotAnImage."""
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            kind = image.format or ""
            # Checked from the header, before a pixel is decoded.
            if image.width * image.height > max_pixels:
                raise TooManyPixels(f"{image.width}×{image.height} pixels")
            image.load()
            # The EXIF orientation is applied to the pixels, since the tag itself is dropped.
            upright = ImageOps.exif_transpose(image)
            return _encode(upright, kind)
    except NotAnImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooManyPixels(str(exc)) from None
    except Exception as exc:  # any decoder's complaint about a bad file: OSError, SyntaxError…
        raise NotAnImage(f"{type(exc).__name__}: {exc}") from None


def _encode(image: Image.Image, kind: str) -> CleanImage:
    out = io.BytesIO()
    if kind == "PNG":
        image.save(out, "PNG")
    elif kind == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        kind = "JPEG"
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85)
    # No exif=, icc_profile= or pnginfo= is passed: nothing of the upload's metadata is kept.
    return CleanImage(FORMATS[kind], out.getvalue(), image.width, image.height)
