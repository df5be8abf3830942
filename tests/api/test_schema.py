"""The OpenAPI schema: valid, complete, and its docs page needs no CDN."""

import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from tests.api.test_authorization_matrix import api_routes


@pytest.fixture
def schema_text(tmp_path) -> str:
    target = tmp_path / "schema.yaml"
    # --fail-on-warn turns every drf-spectacular warning (an endpoint it could not
    # describe, a name collision) into a failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    return target.read_text()


def _schema_path_pattern(path: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", path) + "$")


def test_it_generates_a_valid_schema_without_warnings(schema_text: str) -> None:
    schema = yaml.safe_load(schema_text)
    assert schema["openapi"].startswith("3.")
    assert schema["paths"], "the schema describes no path"


def test_it_describes_every_route_under_v1(schema_text: str) -> None:
    paths = [_schema_path_pattern(path) for path in yaml.safe_load(schema_text)["paths"]]
    missing = []
    for pattern, name in api_routes():
        if not pattern.startswith("api/v1/"):
            continue
        url = reverse(name, kwargs={"pk": 1} if ":pk>" in pattern else {})
        if not any(path.match(url) for path in paths):
            missing.append(url)
    assert missing == []


def test_it_documents_field_errors_and_refusals(schema_text: str) -> None:
    operation = yaml.safe_load(schema_text)["paths"]["/api/v1/assignments/"]["post"]
    assert {"201", "400", "401", "403"} <= set(operation["responses"])


def test_it_serves_the_schema_and_docs_without_a_cdn(client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/today/" in schema.content

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the docs page loads no assets"
    assert all(not re.match(r"^(https?:)?//", source) for source in sources), sources
    assert any("swagger-ui" in source for source in sources)
    # Swagger UI's start-up script is served by the same view, not inline.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert b"/api/schema/" in script.content
    assert not re.search(rb"https?://(?!127\.0\.0\.1|localhost)", script.content)
