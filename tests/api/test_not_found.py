"""Any unknown URL under /api/ answers JSON, whatever characters its path holds."""

import pytest


@pytest.mark.parametrize(
    "path",
    ["/api/v1/no-such/", "/api/v1/completions/%C3%85%0Ax/feedback/", "/api/v1/%0A/"],
)
def test_it_answers_a_json_404_for_any_unknown_path(client, db, path):
    response = client.post(path, "{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
