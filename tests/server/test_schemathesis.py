"""schemathesis against ``/openapi.json`` with an owner token: no 5xx, every answer as documented.

Bounded so it fits in ``make test``: :data:`EXAMPLES` generated calls per operation, on the
backends of the ``ws`` fixture (SQLite and PostgreSQL). schemathesis's own pytest loader
(``from_fixture``) does not run on pytest 9, so the operations are driven through its Python API:
one Hypothesis run per operation, every failure collected, all of them reported at once.

Left to itself, schemathesis names charters that do not exist (every call a 404), so half the
cases are steered to the served charter, its versions and, for predict, a record of its contract:
the other half stay as generated.

Predict and labels take records whose fields each charter's contract names, so their OpenAPI
body is any object: a record the contract refuses is a documented 422, not a schema mismatch,
and schemathesis's "schema-valid request rejected" check is left out for those two only.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.server.conftest import NAME, Api, record

EXAMPLES = 8  # per operation: 16 operations, so about 130 calls per backend


def _steered(operation: Any, versions: list[int]) -> st.SearchStrategy[Any]:
    def steer(drawn: tuple[Any, bool, int]) -> Any:
        case, real, i = drawn
        if real and case.path_parameters:
            case.path_parameters["name"] = NAME
            if "version" in case.path_parameters:
                case.path_parameters["version"] = versions[i % len(versions)]
            if operation.path.endswith("/predict"):
                case.body = record(i) if i % 3 else [record(i), record(i + 1, amount=-1.0)]
        return case

    return st.tuples(operation.as_strategy(), st.booleans(), st.integers(0, 10_000)).map(steer)


def _exercise(
    operation: Any, versions: list[int], headers: dict[str, str], answered: dict[str, set[int]]
) -> str | None:
    """One Hypothesis run of ``operation``; what schemathesis found wrong, or None."""
    open_body = operation.path.endswith(("/predict", "/labels"))
    excluded = [positive_data_acceptance] if open_body else []

    @given(case=_steered(operation, versions))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same cases every run: the counts asserted below cannot flake
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(headers=headers, excluded_checks=excluded)
        answered.setdefault(operation.label, set()).add(response.status_code)

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # every operation's failure is reported
        return f"{type(exc).__name__}: {exc}"[:3000]
    return None


def test_every_operation_answers_as_its_openapi_says(api: Api) -> None:
    versions = [
        api.register("return frame['amount'] / 100", "live"),
        api.register("return frame['amount'] / 50", "shadow"),
        api.register("return frame['amount'] / 20", None),
    ]
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = api.headers("owner")
    failures: dict[str, str] = {}
    answered: dict[str, set[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]

    for operation in operations:
        failure = _exercise(operation, versions, headers, answered)
        if failure:
            failures[operation.label] = failure

    assert len(operations) >= 16
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    succeeded = [label for label, codes in answered.items() if any(c < 300 for c in codes)]
    # the steering reached the routes' real work (the derandomized cases reach 9 operations)
    assert len(succeeded) >= 9, answered
