"""Schema fuzzing: schemathesis drives the app in-process (WSGI) from its own schema.

For every operation it sends valid and invalid requests (a bounded number of
examples each) as a clinician and as a client, and checks that the server never
errs, that every answer is one the schema documents, in the documented shape, and
that invalid data is rejected. Valid requests point at real objects of the
caller's (so bodies reach the services); invalid ones get generated ids too.

`positive_data_acceptance` is left out: the schema cannot say every business rule
(a start date in the past, a rating the exercise does not ask for), so a request
that fits the schema may still rightly get a 400 with field messages.
"""

from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from clinic.wsgi import application
from tests.api.conftest import ApiWorld, token_for

# Operations that would end the fuzzing session's own login; their behaviour is
# covered in test_tokens.py.
SKIPPED_PATHS = (
    "/api/v1/auth/token/logout/",
    "/api/v1/auth/token/logoutall/",
    "/api/v1/auth/logout/",
)

EXAMPLES_PER_MODE = 15

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def _keep_the_test_connection():
    """The WSGI handler closes the database connection after each request, which would
    end the test's transaction; Django's own test client switches that off the same way."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


def _real_ids(api: ApiWorld) -> dict[str, int]:
    """The object each detail path points at when the data is meant to be valid."""
    return {
        "/api/v1/exercises/": api.exercise.pk,
        "/api/v1/clients/": api.world.client.pk,
        "/api/v1/invitations/": api.invitation.pk,
        "/api/v1/assignments/": api.assignment.pk,
        "/api/v1/completions/": api.completion.pk,
    }


@dataclass
class Counts:
    """What the run sent (the generated requests, not the ones checks may add), for the report."""

    operations: int = 0
    requests: int = 0
    server_errors: int = 0

    def summary(self) -> str:
        return f"{self.operations} operations, {self.requests} requests, {self.server_errors} 5xx"


def _fuzz(api: ApiWorld, token: str, counts: Counts) -> dict[str, str]:
    """Run every operation; return the failures by operation, so one run shows them all."""
    # Each test gets its own throttle cache (conftest), so login attempts start at zero.
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    headers = {"Authorization": f"Token {token}"}
    real_ids = _real_ids(api)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        operations += 1
        path_ids = {
            "id": next(
                (pk for prefix, pk in real_ids.items() if operation.path.startswith(prefix)), 1
            )
        }
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(
                generation_mode=mode,
                path_parameters=path_ids if "{id}" in operation.path and mode.is_positive else None,
            )

            @FUZZ_SETTINGS
            @given(case=strategy)
            def run(case) -> None:
                response = case.call(headers=headers)
                counts.requests += 1
                counts.server_errors += response.status_code >= 500
                case.validate_response(
                    response, headers=headers, excluded_checks=[positive_data_acceptance]
                )

            try:
                run()
            except Unsatisfiable:
                # Nothing to make invalid: the operation takes no parameters or body.
                assert not mode.is_positive, operation.label
            except (Exception, BaseExceptionGroup) as error:  # every operation, not the first
                failures[f"{operation.label} ({mode.value})"] = str(error)[:3000]
    assert operations >= 30, "the schema lost its operations"
    counts.operations += operations
    return failures


def _report(failures: dict[str, str]) -> str:
    return f"{len(failures)} operations failed:\n\n" + "\n\n".join(
        f"== {label}\n{text}" for label, text in failures.items()
    )


@pytest.mark.usefixtures("_keep_the_test_connection")
@pytest.mark.parametrize("who", ["clinician", "client"])
def test_it_survives_fuzzing(api, who, capsys) -> None:
    counts = Counts()
    failures = _fuzz(api, token_for(getattr(api.world, who)), counts)
    with capsys.disabled():
        print(f"\nschema fuzzing as a {who}: {counts.summary()}")
    assert counts.server_errors == 0 or failures, "a 5xx must show up as a failure"
    assert not failures, _report(failures)
