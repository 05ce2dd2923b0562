"""Photos drawn again: each type kept, metadata gone, orientation applied, bad files refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from chatsvc.images import NotAnImage, TooManyPixels, clean_image

LIMIT = 40_000_000


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    ("mode", "kind", "content_type"),
    [
        ("RGB", "JPEG", "image/jpeg"),
        ("L", "JPEG", "image/jpeg"),
        ("CMYK", "JPEG", "image/jpeg"),
        ("RGBA", "PNG", "image/png"),
        ("P", "PNG", "image/png"),
        ("RGB", "WEBP", "image/webp"),
        ("RGBA", "WEBP", "image/webp"),
    ],
)
def test_each_type_is_drawn_again_in_its_own_type(mode: str, kind: str, content_type: str) -> None:
    clean = clean_image(encoded(Image.new(mode, (30, 20)), kind), max_pixels=LIMIT)
    assert (clean.content_type, clean.width, clean.height) == (content_type, 30, 20)
    assert Image.open(io.BytesIO(clean.data)).format == kind


def test_the_exif_orientation_is_applied_to_the_pixels_and_dropped() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    exif[0x0110] = "Phone Model 9"
    clean = clean_image(encoded(Image.new("RGB", (40, 10)), "JPEG", exif=exif), max_pixels=LIMIT)
    stored = Image.open(io.BytesIO(clean.data))
    assert stored.size == (10, 40) and not stored.getexif()
    assert b"Phone Model" not in clean.data


def test_too_many_pixels_and_other_formats_are_refused() -> None:
    with pytest.raises(TooManyPixels):
        clean_image(encoded(Image.new("1", (2_000, 2_000)), "PNG"), max_pixels=1_000_000)
    for data in (encoded(Image.new("RGB", (5, 5)), "GIF"), b"", b"\xff\xd8\xff" + bytes(50)):
        with pytest.raises(NotAnImage):
            clean_image(data, max_pixels=LIMIT)
