"""Dispatch: committing a plan to the ledger and following its trucks to the shelters.

A plan (its JSON, `optimizer.plan_document.PlanDocument`) is approved once: each of its loads
reserves exactly its lot and each agreement shipment becomes a call-off for its shelter, all
or nothing (`approval`). Departing a vehicle's trip moves the trip's loads from the depot
into `in_transit`; delivering a stop issues that stop's loads to `distributed` (`movements`).
Cancelling releases what has not left and withdraws the call-offs not yet received; loads on
the road are still delivered. `queries` finds and reads plans and loads.

Every function takes `session` and flushes, never commits; the caller's transaction makes a
refusal leave no trace.
"""

from supply.services.dispatch.approval import PLAN_PREFIX, Approval, Cancellation, approve, cancel
from supply.services.dispatch.document import (
    PlannedAgreement,
    PlannedLoad,
    ReadPlan,
    plan_hash,
    read_plan,
)
from supply.services.dispatch.movements import Moved, deliver, depart
from supply.services.dispatch.queries import (
    Key,
    held_by,
    list_plans,
    loads_on_the_road,
    plan_by_ref,
    plan_loads,
    plan_status,
)

__all__ = [
    "PLAN_PREFIX",
    "Approval",
    "Cancellation",
    "Key",
    "Moved",
    "PlannedAgreement",
    "PlannedLoad",
    "ReadPlan",
    "approve",
    "cancel",
    "deliver",
    "depart",
    "held_by",
    "list_plans",
    "loads_on_the_road",
    "plan_by_ref",
    "plan_hash",
    "plan_loads",
    "plan_status",
    "read_plan",
]
