"""A clinic's look: its accent colour (checked for contrast) and its logo (checked by content).

Pure functions, no queries: the model validates with them and the branding service
(accounts.services.clinic_branding_update) stores what they return.
"""

import io
import re

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

# The portal draws the accent behind white text (the header, buttons) and uses it for
# links on the page's background; both must read at WCAG AA for normal text.
MIN_CONTRAST = 4.5
WHITE = "#ffffff"
PAGE_BACKGROUND = "#f4f1ec"  # --soft in static/css/kindwork.css
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

LOGO_MAX_BYTES = 512 * 1024
# Larger pictures are refused before they are decoded (a small file can hold a huge image).
LOGO_MAX_SOURCE_SIDE = 4096
# Stored at most this big: the header shows it at 32 px, twice that for sharp screens.
LOGO_STORED_SIDE = 256
LOGO_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
# Emails carry the logo inside every message and show it at 32 px: twice that is sharp,
# and keeps a photo-like logo to a few KB per email instead of the stored ~150 KB.
EMAIL_LOGO_SIDE = 64


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.x) of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def validate_accent_colour(value: str) -> None:
    """A #rrggbb colour that white text reads on, and that reads as a link on the page."""
    if not value:
        return
    if not HEX_COLOUR.match(value):
        raise ValidationError(
            "Enter the colour as # and six hexadecimal digits, for example #1d5c63."
        )
    on_white = contrast_ratio(value, WHITE)
    on_page = contrast_ratio(value, PAGE_BACKGROUND)
    if min(on_white, on_page) < MIN_CONTRAST:
        raise ValidationError(
            "This colour is too light: white text on it has a contrast of %(ratio).1f:1, "
            "and people with low vision need at least 4.5:1. Choose a darker shade.",
            params={"ratio": min(on_white, on_page)},
            code="low_contrast",
        )


def logo_normalised(data: bytes) -> bytes:
    """The logo as a PNG of at most LOGO_STORED_SIDE px, or ValidationError.

    The picture is judged by its content, never its name or declared type: Pillow must
    recognise it as one of LOGO_FORMATS and decode it whole. Re-encoding drops anything
    else the file carried (metadata, trailing bytes, a script disguised as a picture).
    """
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            "The logo is larger than %(limit)d KB. Save it smaller and try again.",
            params={"limit": LOGO_MAX_BYTES // 1024},
            code="too_large",
        )
    unreadable = ValidationError(
        "This file is not a picture we can use. Upload a PNG, JPEG, GIF or WebP image.",
        code="not_an_image",
    )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in LOGO_FORMATS:
                raise unreadable
            if max(probe.size) > LOGO_MAX_SOURCE_SIDE:
                raise ValidationError(
                    "The logo is more than %(side)d pixels wide or high. Save it smaller.",
                    params={"side": LOGO_MAX_SOURCE_SIDE},
                    code="too_big",
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            picture = image.convert("RGBA")
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise unreadable from error
    picture.thumbnail((LOGO_STORED_SIDE, LOGO_STORED_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def email_logo(stored_png: bytes) -> bytes:
    """The stored logo (our own PNG from logo_normalised) at EMAIL_LOGO_SIDE px, as PNG."""
    with Image.open(io.BytesIO(stored_png)) as image:
        picture = image.convert("RGBA")
    picture.thumbnail((EMAIL_LOGO_SIDE, EMAIL_LOGO_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()
