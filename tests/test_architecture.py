"""The shape of the code base: no app swallows the others, and clinic/ stays the project only.

Which app may import which is checked by `lint-imports` (contracts in pyproject.toml);
these are the two rules import-linter cannot express.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Past this share one app is again "where everything goes", as homework was with two thirds.
MAX_APP_SHARE = 0.40

PROJECT_MODULES = {
    "__init__.py",
    "settings.py",
    "urls.py",
    "api_urls.py",
    "celery.py",
    "health.py",
    "metrics.py",
    "wsgi.py",
    "asgi.py",
}


def _apps() -> list[str]:
    """Every Django app at the top level (a folder with apps.py), so a new app is counted."""
    return sorted(path.parent.name for path in ROOT.glob("*/apps.py"))


def _python_lines(package: str) -> int:
    """Lines of Python in a package, migrations left out (generated, and they only grow)."""
    return sum(
        len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def test_it_finds_the_apps():
    apps = _apps()

    assert set(apps) >= {
        "accounts",
        "audit",
        "core",
        "homework",
        "measures",
        "notifications",
        "outreach",
        "records",
    }
    assert "clinic" not in apps
    assert "tests" not in apps and "bench" not in apps


def test_no_app_holds_more_than_its_share_of_the_lines():
    lines = {package: _python_lines(package) for package in [*_apps(), "clinic"]}
    total = sum(lines.values())
    shares = {package: count / total for package, count in lines.items()}

    for package, count in sorted(lines.items(), key=lambda item: -item[1]):
        print(f"{package:<14} {count:>6} lines  {shares[package]:6.1%}")
    print(f"{'total':<14} {total:>6} lines")

    too_big = {
        package: f"{share:.1%}" for package, share in shares.items() if share > MAX_APP_SHARE
    }
    assert too_big == {}


def test_clinic_holds_only_the_project_modules():
    clinic = ROOT / "clinic"
    python_files = {
        str(path.relative_to(clinic))
        for path in clinic.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    folders = {
        str(path.relative_to(clinic))
        for path in clinic.rglob("*")
        if path.is_dir() and "__pycache__" not in path.parts
    }

    assert python_files - PROJECT_MODULES == set()
    assert folders == set()
