"""Clinic branding: display name, logo and accent colour, set by the clinic's admin."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts import services
from accounts.branding import contrast_ratio, logo_normalised, validate_accent_colour
from accounts.models import Clinic, Role
from tests.conftest import make_user


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clinic_admin(world):
    from django.contrib.auth.models import Permission

    staff = make_user("office@harbour.test", Role.ADMIN, world.clinic, is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    return staff


def picture(fmt: str = "PNG", size: tuple[int, int] = (600, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (29, 92, 99)).save(out, format=fmt)
    return out.getvalue()


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- the rules --------------------------------------------------------------------------


def test_contrast_is_computed_as_wcag_says():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_it_accepts_a_dark_accent_and_refuses_a_light_one_with_the_reason():
    validate_accent_colour("#1d5c63")
    with pytest.raises(ValidationError) as refused:
        validate_accent_colour("#ffcc00")
    assert "too light" in refused.value.messages[0]
    assert "4.5:1" in refused.value.messages[0]
    with pytest.raises(ValidationError):
        validate_accent_colour("red; background: url(x)")


def test_it_shrinks_a_logo_to_a_png_and_refuses_what_is_not_a_picture():
    stored = logo_normalised(picture("JPEG"))
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG"
        assert max(image.size) == 256
    for bad in (b"<script>alert(1)</script>", b"GIF89a" + b"\0" * 20, b""):
        with pytest.raises(ValidationError):
            logo_normalised(bad)


def test_it_refuses_a_logo_too_large_in_bytes_or_in_pixels():
    with pytest.raises(ValidationError) as heavy:
        logo_normalised(b"\x89PNG" + b"\0" * (600 * 1024))
    assert "512 KB" in heavy.value.messages[0]
    with pytest.raises(ValidationError) as wide:
        logo_normalised(picture(size=(5000, 10)))
    assert "4096 pixels" in wide.value.messages[0]


# --- the service stores all or nothing --------------------------------------------------


def test_a_bad_colour_or_logo_writes_nothing(world, settings):
    with pytest.raises(ValidationError) as refused:
        services.clinic_branding_update(
            clinic=world.clinic,
            display_name="Harbour Wellbeing",
            accent_colour="#eeeeee",
            logo_data=b"not a picture",
        )
    assert set(refused.value.message_dict) == {"accent_colour", "logo"}
    world.clinic.refresh_from_db()
    assert (world.clinic.display_name, world.clinic.accent_colour, world.clinic.logo.name) == (
        "",
        "",
        "",
    )
    assert stored_files(settings) == []


def test_a_new_logo_replaces_the_old_file(world, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.clinic_branding_update(
            clinic=world.clinic, display_name="", accent_colour="", logo_data=picture()
        )
    first = world.clinic.logo.name
    with django_capture_on_commit_callbacks(execute=True):
        services.clinic_branding_update(
            clinic=world.clinic, display_name="", accent_colour="", logo_data=picture("GIF")
        )
    assert world.clinic.logo.name != first
    assert [p.name for p in stored_files(settings)] == [world.clinic.logo.name.split("/")[-1]]


# --- the admin sets it, the portal shows it ---------------------------------------------


def _clinic_form(clinic: Clinic, **changes) -> dict:
    return {
        "name": clinic.name,
        "timezone": clinic.timezone,
        "display_name": clinic.display_name,
        "accent_colour": clinic.accent_colour,
        "crisis_text": clinic.crisis_text,
        # The crisis contacts inline, left empty.
        "crisis_contacts-TOTAL_FORMS": "0",
        "crisis_contacts-INITIAL_FORMS": "0",
        **changes,
    }


def test_an_admin_brands_the_clinic_and_its_clients_see_it(world, clinic_admin):
    url = reverse("admin:accounts_clinic_change", args=[world.clinic.pk])
    data = _clinic_form(
        world.clinic,
        display_name="Harbour Wellbeing",
        accent_colour="#5B2A86",
        logo_upload=SimpleUploadedFile("logo.png", picture(), content_type="image/png"),
    )
    response = world.login(clinic_admin).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    world.clinic.refresh_from_db()
    assert world.clinic.display_name == "Harbour Wellbeing"
    assert world.clinic.accent_colour == "#5b2a86"
    assert world.clinic.logo.name.startswith(f"clinic-logos/{world.clinic.pk}/")

    browser = world.login(world.client)
    page = browser.get(reverse("homework:today")).content.decode()
    logo_url = reverse("accounts:clinic-logo", args=[world.clinic.pk])
    assert f'src="{logo_url}"' in page
    assert "Harbour Wellbeing" in page
    assert reverse("accounts:clinic-brand-css") in page
    css = browser.get(reverse("accounts:clinic-brand-css"))
    assert css["Content-Type"].startswith("text/css")
    assert css.content.decode() == ":root { --accent: #5b2a86; }\n"
    logo = browser.get(logo_url)
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content).startswith(b"\x89PNG")


def test_the_admin_refuses_a_light_colour_with_a_message_and_keeps_everything(
    world, clinic_admin, settings
):
    url = reverse("admin:accounts_clinic_change", args=[world.clinic.pk])
    data = _clinic_form(
        world.clinic,
        name="Renamed",
        accent_colour="#f0e68c",
        logo_upload=SimpleUploadedFile("logo.png", picture(), content_type="image/png"),
    )
    response = world.login(clinic_admin).post(url, data)
    assert response.status_code == 200
    assert "This colour is too light" in response.content.decode()
    world.clinic.refresh_from_db()
    assert (world.clinic.name, world.clinic.accent_colour, world.clinic.logo.name) == (
        "Harbour Clinic",
        "",
        "",
    )
    assert stored_files(settings) == []


def test_the_admin_refuses_a_file_that_is_not_a_picture(world, clinic_admin, settings):
    url = reverse("admin:accounts_clinic_change", args=[world.clinic.pk])
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = world.login(clinic_admin).post(url, _clinic_form(world.clinic, logo_upload=fake))
    assert response.status_code == 200
    assert "This file is not a picture we can use" in response.content.decode()
    assert stored_files(settings) == []


# --- who gets the logo ------------------------------------------------------------------


def test_the_logo_is_for_the_clinics_members_only(world, supervisor):
    services.clinic_branding_update(
        clinic=world.clinic, display_name="", accent_colour="#1d5c63", logo_data=picture()
    )
    url = reverse("accounts:clinic-logo", args=[world.clinic.pk])
    for member in (world.client, world.clinician, world.colleague, supervisor):
        assert world.login(member).get(url).status_code == 200
    assert world.login(None).get(url).status_code == 404
    assert world.login(world.stranger_client).get(url).status_code == 404
    assert world.login(world.stranger_clinician).get(url).status_code == 404
    assert world.login(world.client).post(url).status_code == 405
    # Another clinic's members get no accent either.
    css = world.login(world.stranger_client).get(reverse("accounts:clinic-brand-css"))
    assert css.content == b""


def test_a_clinic_without_a_logo_answers_404_and_the_page_shows_kindwork(world):
    browser = world.login(world.client)
    assert browser.get(reverse("accounts:clinic-logo", args=[world.clinic.pk])).status_code == 404
    page = browser.get(reverse("homework:today")).content.decode()
    assert "brand-logo" not in page
    assert "Harbour Clinic" in page


def test_the_invitation_email_names_the_clinic_by_its_display_name(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    world.clinic.display_name = "Harbour Wellbeing"
    world.clinic.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(
            clinic=world.clinic,
            email="new@client.test",
            role=Role.CLIENT,
            clinician=world.clinician,
            invited_by=world.clinician,
        )
    assert len(mailoutbox) == 1
    assert any("Harbour Wellbeing" in message.body for message in mailoutbox)
