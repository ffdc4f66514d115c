"""Property-based fuzzing of the judge API against the OpenAPI schema it serves (schemathesis, in-process).

Every operation gets schema-valid bodies (positive), schema-breaking ones (negative) and
requests without a key; no answer may be a 5xx and every answer must match the schema.
Hypothesis runs derandomized with a bounded number of examples, so CI sees the same cases.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi import checks as openapi_checks

from labeling.serve.app import create_app
from labeling.serve.judge_loader import load_judge
from labeling.serve.settings import ServerSettings
from labeling.serve.toy_judge import make_toy_judge

KEY = "fuzz-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES_PER_OPERATION = 50
# small caps keep the generated bodies (and so the forward passes) cheap on a busy CPU
SETTINGS = ServerSettings(
    api_keys=frozenset({KEY}), max_items=4, max_field_chars=200, max_transcript_chars=400, max_batch=8, max_wait_ms=0
)
PROTECTED = {"/v1/judge", "/v1/models", "/metrics"}


@dataclass
class Tally:
    """Statuses seen per operation, across the whole fuzz run."""

    statuses: dict[str, Counter] = field(default_factory=dict)

    def record(self, label: str, status: int) -> None:
        """Count one answered request."""
        self.statuses.setdefault(label, Counter())[status] += 1

    @property
    def requests(self) -> int:
        """All requests sent."""
        return sum(sum(c.values()) for c in self.statuses.values())

    @property
    def server_errors(self) -> int:
        """Requests answered with a 5xx."""
        return sum(n for c in self.statuses.values() for status, n in c.items() if status >= 500)


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path):
    """The schema loaded from the live app (schemathesis runs the app's lifespan until teardown)."""
    judge = load_judge(make_toy_judge(tmp_path_factory.mktemp("fuzz") / "runs", tiny_model_dir))
    loaded = schemathesis.openapi.from_asgi("/openapi.json", create_app(judge, SETTINGS), headers=AUTH)
    yield loaded
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def tally() -> Tally:
    return Tally()


def has_inputs(operation: APIOperation) -> bool:
    """Whether the operation takes a body or parameters (else there is no input to break)."""
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str] | None, tally: Tally) -> None:
    """Send bounded, reproducible generated cases to one operation and check each answer."""
    checks = [
        openapi_checks.status_code_conformance,
        openapi_checks.content_type_conformance,
        openapi_checks.response_schema_conformance,
    ]
    if mode.is_negative:
        checks.append(openapi_checks.negative_data_rejection)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        response = case.call(headers=dict(headers) if headers else None)  # schemathesis adds to the dict
        tally.record(operation.label, response.status_code)
        assert response.status_code < 500, f"{operation.label} answered {response.status_code}: {response.text[:300]}"
        if headers is None and operation.path in PROTECTED:
            assert response.status_code == 401, response.text[:300]
        case.validate_response(response, checks=checks, headers=dict(headers) if headers else None)

    run()


@pytest.mark.parametrize(
    ("mode", "headers"),
    [(GenerationMode.POSITIVE, AUTH), (GenerationMode.NEGATIVE, AUTH), (GenerationMode.POSITIVE, None)],
    ids=["positive", "negative", "no-key"],
)
def test_no_operation_answers_a_server_error(schema, tally, mode, headers) -> None:
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= PROTECTED | {"/healthz"}
    before, errors_before = tally.requests, tally.server_errors
    for operation in operations:
        if mode.is_negative and not has_inputs(operation):
            continue
        fuzz(operation, mode, headers, tally)
    sent, errors = tally.requests - before, tally.server_errors - errors_before
    assert sent > 0
    print(f"\nfuzz[{mode.value}{'' if headers else ', no key'}]: {sent} requests, {errors} server errors")


def test_errors_from_the_text_metrics_route_are_documented_as_json(schema) -> None:
    """Regression (found by the fuzzer): /metrics documented its JSON 401 body as text/plain."""
    operation = schema["/metrics"]["GET"]
    case = operation.Case()
    response = case.call()
    assert response.status_code == 401 and response.headers["content-type"] == ["application/json"]
    case.validate_response(
        response, checks=[openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance]
    )
    assert case.call(headers=dict(AUTH)).headers["content-type"][0].startswith("text/plain")


def test_fuzz_summary(tally) -> None:
    """Runs last in this module: the totals for the closing note (``-s`` shows them)."""
    if tally.requests == 0:
        pytest.skip("the fuzz tests did not run (deselected)")
    lines = [f"  {label}: {dict(sorted(c.items()))}" for label, c in sorted(tally.statuses.items())]
    print(f"\nfuzz: {tally.requests} requests, {tally.server_errors} server errors\n" + "\n".join(lines))
    assert tally.server_errors == 0
