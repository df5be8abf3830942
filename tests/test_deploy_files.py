"""deploy/: the systemd units and the nginx site are checked by the tools that will read
them (Debian's systemd-analyze and nginx; .ci/run installs them). Without the tools the
tests skip locally and fail when REQUIRE_SERVICES=1."""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def tool(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    skip_or_fail(f"{name} is not installed (apt-get install nginx-light systemd)")
    raise AssertionError  # not reached


def test_there_is_a_unit_for_web_worker_and_beat():
    assert [unit.name for unit in UNITS] == [
        "kindwork-beat.service",
        "kindwork-web.service",
        "kindwork-worker.service",
    ]
    assert (
        "gunicorn clinic.wsgi:application" in (DEPLOY / "systemd/kindwork-web.service").read_text()
    )


def test_systemd_accepts_the_units(tmp_path):
    analyze = tool("systemd-analyze")
    # The units name /srv/kindwork/.venv; here the checkout's own venv has the same programs.
    for unit in UNITS:
        text = unit.read_text().replace("/srv/kindwork/.venv", str(ROOT / ".venv"))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *[str(tmp_path / unit.name) for unit in UNITS]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown keys are only warnings to systemd (exit 0); here they are mistakes too.
    complaints = [
        line
        for line in result.stderr.splitlines()
        if "kindwork" in line and "/etc/kindwork/kindwork.env" not in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == [], result.stderr


def _self_signed(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kindwork.example.org")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_nginx_accepts_the_site(tmp_path):
    nginx = tool("nginx")
    _self_signed(tmp_path)
    site = (
        (DEPLOY / "nginx/kindwork.conf")
        .read_text()
        .replace("/etc/ssl/kindwork", str(tmp_path))
        .replace("/etc/nginx/kindwork_proxy_params", str(DEPLOY / "nginx/kindwork_proxy_params"))
    )
    (tmp_path / "kindwork.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/kindwork.conf;
}}
"""
    )
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("header", ["X-Forwarded-Proto", "X-Forwarded-For", "X-Request-ID", "Host"])
def test_the_proxy_passes_what_the_app_trusts(header):
    assert f"proxy_set_header {header} " in (DEPLOY / "nginx/kindwork_proxy_params").read_text()


# --- releases (bin/upgrade-rehearsal) ---

RELEASES = DEPLOY / "releases"


def test_every_recorded_release_is_a_tag_and_a_commit_of_this_history():
    lines = [
        line for line in RELEASES.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert lines, "deploy/releases records no release"
    git = shutil.which("git") or skip_or_fail("git is not installed")
    for line in lines:
        tag, sha = line.split(" ")
        assert tag.startswith("v") and len(sha) == 40, line
        known = subprocess.run(
            [git, "cat-file", "-e", f"{sha}^{{commit}}"], cwd=ROOT, capture_output=True, check=False
        )
        assert known.returncode == 0, f"{line}: not a commit of this clone"


def _rehearsal_in(directory: Path, releases: str) -> subprocess.CompletedProcess:
    """bin/upgrade-rehearsal --release in a fresh repository of one commit and no tags."""
    (directory / "bin").mkdir()
    (directory / "deploy").mkdir()
    shutil.copy(ROOT / "bin/upgrade-rehearsal", directory / "bin/upgrade-rehearsal")
    (directory / "deploy/releases").write_text(releases)
    git = ["git", "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    return subprocess.run(
        [str(directory / "bin/upgrade-rehearsal"), "--release"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_without_a_tag_the_rehearsal_upgrades_from_the_last_recorded_release(tmp_path):
    a, b = "a" * 40, "b" * 40
    result = _rehearsal_in(tmp_path, f"# comment\nv1.0.0 {a}\nv1.1.0 {b}\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"v1.1.0 {b}"


def test_a_tag_wins_over_the_file_and_nothing_recorded_is_a_clear_stop(tmp_path):
    result = _rehearsal_in(tmp_path, "# nothing released yet\n")
    assert result.returncode == 1 and "no release recorded" in result.stderr
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "tag", "v2.0.0"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    result = subprocess.run(
        [str(tmp_path / "bin/upgrade-rehearsal"), "--release"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout.strip() == f"v2.0.0 {head}", result.stderr
