"""The API world and a fresh throttle cache, shared with tests/api."""

from tests.api.conftest import _fresh_throttle_cache, api  # noqa: F401
