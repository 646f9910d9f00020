"""The plan document schema reads what `Plan.to_dict()` writes, and refuses what approval
could not use."""

import json

import pytest
from pydantic import ValidationError

from optimizer.params import RouteParams
from optimizer.plan_document import PlanDocument, agreement_code
from optimizer.planner import plan_with_tours
from tests.optimizer.instances import short_depot, slow_agreement


def test_a_routed_plan_reads_back_with_its_loads() -> None:
    """A real routed plan's JSON validates; its route loads carry all its depot shipments."""
    plan = plan_with_tours(short_depot(), route_params=RouteParams(workers=1), time_limit_s=4)
    doc = PlanDocument.model_validate(json.loads(plan.to_json()))
    loads = sum(ld.qty for r in doc.routes for t in r.trips for s in t.stops for ld in s.loads)
    shipped = sum(s.qty for s in doc.shipments if s.source_kind == "depot")
    assert doc.routes
    assert loads == shipped == 100  # all the depot holds
    assert doc.untoured_depots == []


def test_an_allocation_only_plan_with_agreements_reads_back() -> None:
    """A plan of agreement shipments only (no routes) validates; sources keep their kind."""
    from optimizer import solve_allocation

    plan = solve_allocation(slow_agreement(), time_limit_s=4)
    doc = PlanDocument.model_validate(json.loads(plan.to_json()))
    assert {s.source_kind for s in doc.shipments} == {"agreement"}
    assert doc.routes == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {
                "shipments": [
                    {"source": "D", "source_kind": "depot", "shelter": "S", "item": "W", "qty": 1}
                ]
            },
            "needs a lot",
        ),
        (
            {
                "shipments": [
                    {"source": "D", "source_kind": "truck", "shelter": "S", "item": "W", "qty": 1}
                ]
            },
            "source_kind",
        ),
        (
            {
                "shipments": [
                    {
                        "source": "A",
                        "source_kind": "agreement",
                        "shelter": "S",
                        "item": "W",
                        "qty": 1.5,
                    }
                ]
            },
            "qty",
        ),
    ],
)
def test_a_malformed_plan_is_refused(change: dict, message: str) -> None:
    """A depot shipment without a lot, an unknown source kind, a fractional quantity."""
    with pytest.raises(ValidationError, match=message):
        PlanDocument.model_validate({"name": "p", **change})


def test_agreement_code_strips_the_hour_of_a_capacity_reserve() -> None:
    """`AG-X@3` is agreement AG-X's third hour; other codes (even with an @) are themselves."""
    assert agreement_code("AG-X@3") == "AG-X"
    assert agreement_code("AG-X") == "AG-X"
    assert agreement_code("AG@X") == "AG@X"
    assert agreement_code("@3") == "@3"
