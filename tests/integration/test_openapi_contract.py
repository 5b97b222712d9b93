"""The registry answers what its OpenAPI document says (issue 7): schemathesis with every
check against the app built in-process on real NATS and the store, as a communicator and
as the informationsansvarig, in a bounded run (a few examples per operation).

The one failure allowed is a schema-valid request refused by a policy rule the schema
cannot say (a 422 naming rules such as P4.2, B1 or P5.1 that need the kommun's
configuration or compare fields); a refusal of a field's own type or bounds (rule
`input`) means the document and the code disagree, and fails.

By hand, unbounded: `KANALVAKT_CONTRACT_EXAMPLES=2000 .venv/bin/python -m pytest
tests/integration/test_openapi_contract.py`, or the schemathesis CLI (`st run
http://…/openapi.json --checks all -H 'Authorization: Bearer …'`) against `kanalvakt up`.
"""

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from kanalvakt.catalog import parts_of
from shared.service import build_service
from shared.settings import ServiceName
from tests.helpers import ROOT, service_settings
from tests.integration.registry.harness import COMMUNICATOR, INFORMATION_OFFICER

EXAMPLES = int(os.environ.get("KANALVAKT_CONTRACT_EXAMPLES", "6"))


def accepted_unless_a_policy_rule(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's positive-data acceptance, but a 422 whose every error names a
    policy rule is the domain judging what the schema cannot express."""
    try:
        return positive_data_acceptance(ctx, response, case)  # type: ignore[no-any-return]
    except RejectedPositiveData:
        if response.status_code == 422:
            errors = response.json().get("errors") or [{"rule": "input"}]
            if all(e["rule"] != "input" for e in errors):
                return None
        raise


ALL_BUT_POSITIVE = [c for c in CHECKS.get_all() if c is not positive_data_acceptance]


@pytest.fixture
def registry_app(nats_url: str, mongodb_url: str) -> FastAPI:
    """A registry of its own for each operation: schemathesis's ASGI client runs its
    lifespan from the first request and ends it with the test."""
    return build_service(
        parts_of(ServiceName.REGISTRY),
        service_settings(ServiceName.REGISTRY, nats_url, mongodb_url),
    )


# The document as published (tests/unit/test_docs_fresh.py keeps it what the code makes).
schema = schemathesis.openapi.from_path(ROOT / "docs/openapi/registry.json")


BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=EXAMPLES <= 10,
)


def _answers_as_documented(case: Any, app: FastAPI, who: dict[str, str]) -> None:
    # Every request of the test, schemathesis's own probes included, reaches this app.
    case.operation.schema.app = app
    case.call_and_validate(
        app=app,
        base_url="http://registry",
        headers=who,
        checks=ALL_BUT_POSITIVE,
        additional_checks=[accepted_unless_a_policy_rule],
    )


@schema.parametrize()
@BOUNDED
def test_as_a_communicator_the_registry_answers_as_documented(
    case: Any, registry_app: FastAPI
) -> None:
    _answers_as_documented(case, registry_app, COMMUNICATOR)


@schema.parametrize()
@BOUNDED
def test_as_the_informationsansvarig_the_registry_answers_as_documented(
    case: Any, registry_app: FastAPI
) -> None:
    _answers_as_documented(case, registry_app, INFORMATION_OFFICER)
