"""The API fuzzed from its own OpenAPI document (/api/v1/openapi.json) with schemathesis.

Every operation of the document, anonymously and with a coordinator's bearer token, with data
that fits the document (positive) and data that does not (negative); once with every parameter
generated, and once with the path parameters of real objects (a crisis, a page, a report, a
layer, a source, an OGC API collection and feature) so that the operation gets past its 404. Checked on each response: no server
error, a status code the operation documents, a documented content type, and a body that
conforms to the documented schema. Examples are bounded and derandomised: a run is repeatable.
"""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is part of the test extra: pip install -e '.[test]'"
)
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Slow (make test, not make test-fast): some 10,000 generated requests, a third of the fast suite's
# time; the cases it found stay in the fast suite as tests/security/test_fuzzing_regressions.py.
pytestmark = [pytest.mark.security, pytest.mark.slow, pytest.mark.timeout(600)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 20}
REAL_EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 12}
CALLERS = ("anonymous", "coordinator")
BASE_URL = "http://wiki.test"  # the app's SERVER_NAME


@pytest.fixture(scope="module")
def schema(security_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", security_app)


@pytest.fixture(scope="module")
def real_path_parameters(world_for) -> dict[str, object]:
    world = world_for("anonymous-fuzzing")
    return {
        "crisis_slug": world.crisis,
        "slug": world.pages["view"],
        "number": 1,
        "report_id": world.reports["view"],
        "layer_id": world.layers["view"],
        "source_id": world.source_id,
        "collection_id": f"{world.crisis}-reports",
        "feature_id": str(world.reports["view"]),
    }


def run_operation(
    operation,
    mode,
    examples: int,
    headers: dict[str, str],
    path_parameters: dict | None,
    failures: Counter,
    cases: Counter,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case):
        cases[operation.label] += 1
        try:
            response = case.call(base_url=BASE_URL, headers=headers)
        except Exception as error:  # TESTING propagates what would be a 500 in production
            failures[
                f"{operation.label}: unhandled {type(error).__name__}: {str(error).splitlines()[0][:160]} — e.g. "
                f"{case.as_curl_command(headers=headers)[:300]}"
            ] += 1
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                request = f"{case.method} {response.request.url} ({mode.value})"
                failures[
                    f"{operation.label}: {failure.title} — {' '.join(failure.message.split())[:200]} — e.g. {request[:220]}"
                    f" -> {response.status_code}"
                ] += 1

    with contextlib.suppress(Unsatisfiable):  # nothing negative can be made of some operations (no parameters)
        fuzz()


@pytest.mark.parametrize("caller", CALLERS)
def test_the_api_keeps_its_documented_promises(schema, people, real_path_parameters, figures, caller):
    # Identity: the WSGI test transport does not undo flask-compress (an HTTP client would).
    headers = {"Accept-Encoding": "identity"}
    if caller != "anonymous":
        headers["Authorization"] = f"Bearer {people[caller].token}"
    failures: Counter = Counter()
    cases: Counter = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        names = {parameter.name for parameter in operation.path_parameters}
        for mode in EXAMPLES:
            run_operation(operation, mode, EXAMPLES[mode], headers, None, failures, cases)
            if names:
                real = {name: value for name, value in real_path_parameters.items() if name in names}
                run_operation(operation, mode, REAL_EXAMPLES[mode], headers, real, failures, cases)
    figures[f"schemathesis ({caller}): operations"] = len(operations)
    figures[f"schemathesis ({caller}): cases"] = sum(cases.values())
    figures[f"schemathesis ({caller}): failing checks"] = sum(failures.values())
    assert not failures, f"{sum(failures.values())} failed checks, {len(failures)} kinds:\n" + "\n".join(
        f"{n:4d}x {text}" for text, n in sorted(failures.items())
    )
