"""What a clinic's look costs per email: the MIME build of a reminder with and without
the clinic's logo inline (a multipart/related part), and the bytes sent.

    .venv/bin/python bench/email_branding.py [--emails 2000]

No database: the message is built as `_message_build` builds it (templates rendered once,
the logo a 256 px PNG as `accounts.branding.logo_normalised` stores it); the branding
lookup itself is one query per claim of 20 (tests/outreach/test_reminders_send.py pins it).
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")


def main() -> None:
    import django

    django.setup()
    from PIL import Image

    from accounts.branding import email_logo, logo_normalised
    from notifications.mime import OutboxMessage
    from notifications.services import LOGO_CID

    parser = argparse.ArgumentParser()
    parser.add_argument("--emails", type=int, default=2000)
    emails = parser.parse_args().emails

    # A flat logo (a disc on a plain ground) and a photo-like one (noise compresses
    # badly): the two ends of what a clinic uploads, as stored, then as emails carry them.
    flat, photo = io.BytesIO(), io.BytesIO()
    drawn = Image.new("RGB", (400, 400), (255, 255, 255))
    from PIL import ImageDraw

    ImageDraw.Draw(drawn).ellipse((40, 40, 360, 360), fill=(29, 92, 99))
    drawn.save(flat, format="PNG")
    Image.effect_noise((400, 400), 64).convert("RGB").save(photo, format="PNG")
    logos = {}
    for label, source in (("flat", flat), ("photo-like", photo)):
        stored = logo_normalised(source.getvalue())
        logos[label] = email_logo(stored)
        print(f"{label} logo: stored {len(stored):,} bytes, in an email {len(logos[label]):,}")
    text = "Hello,\n\nYou have practice waiting in Harbour Wellbeing today.\n" + "x" * 300
    html = f'<p><img src="cid:{LOGO_CID}" alt=""> Harbour Wellbeing</p><p>{"x" * 600}</p>'

    def build(logo: bytes | None) -> bytes:
        message = OutboxMessage(
            subject="You have practice waiting", body=text, to=["client@example.test"]
        )
        message.attach_alternative(html, "text/html")
        if logo:
            message.inline_images.append((LOGO_CID, logo))
        return message.message().as_bytes()

    for label, logo in (("name and colour only", None), *logos.items()):
        build(logo)  # warm the header classes
        started = time.perf_counter()
        for _ in range(emails):
            size = len(build(logo))
        per_email = (time.perf_counter() - started) / emails * 1000
        label = label if logo is None else f"with the {label} logo"
        print(f"{label:>26}: {per_email:.2f} ms per email, {size:,} bytes")


if __name__ == "__main__":
    main()
