"""A Plan: what goes where, when it arrives, and honestly what could not be done and why.

A Plan is data. It serialises to JSON (the contract with the ledger and the console), to
GeoJSON (for any GIS tool) and to CSV (shipments, for spreadsheets).
"""

import csv
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class SolveStatus(StrEnum):
    """One status for allocation, routing and the plan: `optimal` only with a proof."""

    OPTIMAL = "optimal"  # proven: the figure reaches a valid bound
    FEASIBLE = "feasible"  # a solution, with a gap to the bound when one is known
    INFEASIBLE = "infeasible"
    TIMED_OUT = "timed_out"  # the time limit passed before a (complete) solution


class SourceKind(StrEnum):
    DEPOT = "depot"
    AGREEMENT = "agreement"
    EN_ROUTE = "en_route"  # departed under an earlier plan: counted, not shipped again


@dataclass(frozen=True, slots=True)
class Shipment:
    source: str
    source_kind: SourceKind
    lot: str | None
    shelter: str
    item: str
    qty: int
    ready_hours: float
    arrival_hours: float


@dataclass(slots=True)
class ItemCoverage:
    item: str
    need: int
    on_time: int = 0
    late: int = 0

    @property
    def unmet(self) -> int:
        return max(self.need - self.on_time - self.late, 0)


@dataclass(frozen=True, slots=True)
class FirstBatch:
    """A depot tier's first batch of critical goods at a shelter: when it arrives (hours
    since the dispatch order) against the tier's target (None: the tier has none)."""

    tier: str
    arrival_hours: float
    target_hours: float | None

    @property
    def met(self) -> bool | None:
        if self.target_hours is None:
            return None
        return self.arrival_hours <= self.target_hours + 1e-9


@dataclass(slots=True)
class ShelterPlan:
    code: str
    name: str
    lat: float
    lon: float
    residents: int
    served_on_time: bool
    last_arrival_hours: float | None
    items: list[ItemCoverage]
    reasons: list[str] = field(default_factory=list)
    first_arrival_hours: float | None = None  # first critical goods, from any source
    first_batches: list[FirstBatch] = field(default_factory=list)  # per depot tier used

    @property
    def on_time_share(self) -> float:
        """The least-covered critical-or-not item's on-time share (0..1)."""
        shares = [c.on_time / c.need for c in self.items if c.need]
        return min(shares) if shares else 1.0


@dataclass(frozen=True, slots=True)
class Load:
    item: str
    lot: str | None
    qty: int


@dataclass(slots=True)
class Stop:
    stop: int  # 1-based within the vehicle, counting across its trips
    shelter: str
    arrival_hours: float
    loads: list[Load]
    late_hours: float = 0.0  # after the deadline


@dataclass(slots=True)
class Trip:
    trip: int  # 1-based
    depart_hours: float
    return_hours: float
    stops: list[Stop]
    load_kg: float = 0.0
    load_m3: float = 0.0
    path: list[tuple[float, float]] = field(default_factory=list)  # (lon, lat) along roads


@dataclass(slots=True)
class VehicleRoute:
    """One truck's day: trips out of its depot and back, reloading in between."""

    vehicle: str  # DEPOT/type-k
    depot: str
    vehicle_type: str
    capacity_kg: float
    capacity_m3: float
    trips: list[Trip]

    @property
    def utilisation(self) -> float:
        """Mean share of capacity used per trip (weight or volume, whichever binds)."""
        if not self.trips:
            return 0.0
        shares = [
            max(
                t.load_kg / self.capacity_kg if self.capacity_kg else 0.0,
                t.load_m3 / self.capacity_m3 if self.capacity_m3 else 0.0,
            )
            for t in self.trips
        ]
        return sum(shares) / len(shares)


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """One allocation round of a routed plan and what its tours kept."""

    round: int
    change: str  # what this round's allocation was told ("" for the first)
    allocation_residents_on_time: int
    routed_residents_on_time: int
    on_time_parts_missed: int
    untoured_depots: list[str]
    fleet_limits_kg: dict[str, int]
    blocked: list[list[str]]  # [depot, shelter] arcs the allocation had to send late
    steps: int
    capped: bool = False  # the clock cut this round's route search short


@dataclass(slots=True)
class RoutingSummary:
    """How a plan's tours were found, and how far they could be from the best tours.

    status: the routing's own (timed_out when a depot was left untoured). steps: route
    search steps made (every round's, per worker), of steps_planned. gave_way: [depot,
    shelter] pairs whose on-time loads the tours could not bring. capped: the clock
    stopped a search before its steps (the one case where two runs of the same plan may
    differ). bound_residents: the residents no tours could beat
    (`optimizer.routing.bound`), None if not proven.
    """

    status: SolveStatus
    seconds: float
    vehicles_used: int
    trips: int
    stops: int
    late_stops: int
    on_time_parts_missed: int
    untoured_depots: list[str]
    allocation_residents_on_time: int
    gave_way: list[list[str]] = field(default_factory=list)  # [depot, shelter] pairs
    steps: int = 0
    steps_planned: int = 0
    capped: bool = False
    seed: int = 0
    allocation_status: SolveStatus | None = None
    allocation_gap: float | None = None
    bound_residents: int | None = None
    bound_note: str = ""
    rounds: list[RoundRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        out["allocation_status"] = (
            None if self.allocation_status is None else self.allocation_status.value
        )
        return out


@dataclass(slots=True)
class Plan:
    name: str
    status: SolveStatus
    deadline_hours: float
    solve_seconds: float
    gap: float | None
    shelters: list[ShelterPlan]
    shipments: list[Shipment]
    sources: list[dict[str, Any]]
    objective_order: list[str]
    notes: list[str] = field(default_factory=list)
    routes: list[VehicleRoute] = field(default_factory=list)
    routing: RoutingSummary | None = None  # how the tours were found; None: not routed
    provenance: dict[str, Any] | None = None  # `optimizer.provenance.Provenance.to_dict()`
    clock_cut: bool = False  # the time limit stopped a solve or search: runs may differ

    # --- figures -------------------------------------------------------------------------
    def kpis(self) -> dict[str, Any]:
        total = sum(s.residents for s in self.shelters)
        served = sum(s.residents for s in self.shelters if s.served_on_time)
        unmet: dict[str, int] = {}
        for s in self.shelters:
            for c in s.items:
                unmet[c.item] = unmet.get(c.item, 0) + c.unmet
        return {
            "residents_total": total,
            "residents_served_on_time": served,
            "share_served_on_time": round(served / total, 4) if total else 1.0,
            "shelters_total": len(self.shelters),
            "shelters_served_on_time": sum(s.served_on_time for s in self.shelters),
            "units_unmet": unmet,
            "units_shipped": sum(s.qty for s in self.shipments),
            "units_late": sum(c.late for s in self.shelters for c in s.items),
            "first_batch_on_target": self.first_batch_shares(),
        }

    def first_batch_shares(self) -> dict[str, dict[str, float | int]]:
        """Per depot tier with a target: shelters it sends critical goods to, how many get
        its first batch within the target, and the share."""
        out: dict[str, dict[str, float | int]] = {}
        for s in self.shelters:
            for b in s.first_batches:
                if b.met is None:
                    continue
                row = out.setdefault(b.tier, {"shelters": 0, "on_target": 0, "share": 0.0})
                row["shelters"] += 1
                row["on_target"] += int(b.met)
        for row in out.values():
            row["share"] = round(row["on_target"] / row["shelters"], 4)
        return dict(sorted(out.items()))

    @property
    def untoured_depots(self) -> list[str]:
        """Depots whose shipments no truck tour carries (all of them when not routed)."""
        if self.routing is None:
            return sorted({s.source for s in self.shipments if s.source_kind == SourceKind.DEPOT})
        return list(self.routing.untoured_depots)

    def summary(self) -> str:
        """The dispatcher's headline: served by the trucks' tours, the bound, the gap."""
        k = self.kpis()
        gap = f", gap {self.gap:.2%}" if self.gap else ""
        served = (
            f"{k['residents_served_on_time']:,} of {k['residents_total']:,} residents "
            f"({k['share_served_on_time']:.1%})"
        )
        if self.routing is None:
            return (
                f"{self.name}: {self.status.value}{gap} in {self.solve_seconds:.2f} s; {served} "
                f"would be served within {self.deadline_hours:g} h by the allocation "
                "(no truck tours planned)"
                + ("; the time limit cut a solve short" if self.clock_cut else "")
            )
        r = self.routing
        line = (
            f"{self.name}: {self.status.value}{gap} in {self.solve_seconds:.2f} s; {served} "
            f"served within {self.deadline_hours:g} h by the trucks' tours"
        )
        if r.bound_residents is not None:
            line += f"; no tours could serve more than {r.bound_residents:,}"
        if r.untoured_depots:
            line += f"; NOT TOURED: {', '.join(r.untoured_depots)}"
        if r.capped or self.clock_cut:
            line += "; the time limit cut the search short (another run may differ)"
        return line

    def fingerprint(self) -> str:
        """`document_fingerprint` of this plan's document."""
        return document_fingerprint(self.to_dict())

    # --- serialisations ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan document (`optimizer.plan_document.PlanDocument`, the one schema of
        plan.json that approval and the tests read), as JSON data."""
        from optimizer.plan_document import PlanDocument

        return PlanDocument.model_validate(self._raw()).to_json_dict()

    def _raw(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "gap": self.gap,
            "solve_seconds": round(self.solve_seconds, 3),
            "deadline_hours": self.deadline_hours,
            "objective_order": self.objective_order,
            "kpis": self.kpis(),
            "shelters": [
                {
                    "code": s.code,
                    "name": s.name,
                    "residents": s.residents,
                    "served_on_time": s.served_on_time,
                    "last_arrival_hours": _round(s.last_arrival_hours),
                    "items": [
                        {
                            "item": c.item,
                            "need": c.need,
                            "on_time": c.on_time,
                            "late": c.late,
                            "unmet": c.unmet,
                        }
                        for c in s.items
                    ],
                    "reasons": s.reasons,
                    "first_arrival_hours": _round(s.first_arrival_hours),
                    "first_batches": [
                        {
                            "tier": b.tier,
                            "arrival_hours": _round(b.arrival_hours),
                            "target_hours": b.target_hours,
                            "met": b.met,
                        }
                        for b in s.first_batches
                    ],
                }
                for s in self.shelters
            ],
            "shipments": [
                {
                    **asdict(sh),
                    "source_kind": sh.source_kind.value,
                    "ready_hours": _round(sh.ready_hours),
                    "arrival_hours": _round(sh.arrival_hours),
                }
                for sh in self.shipments
            ],
            "sources": self.sources,
            "notes": self.notes,
            "provenance": self.provenance,
            "clock_cut": self.clock_cut,
            "routing": None if self.routing is None else self.routing.to_dict(),
            "untoured_depots": self.untoured_depots if self.routing is not None else [],
            "routes": [
                {
                    "vehicle": r.vehicle,
                    "depot": r.depot,
                    "vehicle_type": r.vehicle_type,
                    "capacity_kg": r.capacity_kg,
                    "capacity_m3": r.capacity_m3,
                    "utilisation": round(r.utilisation, 3),
                    "trips": [
                        {
                            "trip": t.trip,
                            "depart_hours": _round(t.depart_hours),
                            "return_hours": _round(t.return_hours),
                            "load_kg": round(t.load_kg, 1),
                            "load_m3": round(t.load_m3, 3),
                            "stops": [
                                {
                                    "stop": st.stop,
                                    "shelter": st.shelter,
                                    "arrival_hours": _round(st.arrival_hours),
                                    "late_hours": _round(st.late_hours),
                                    "loads": [asdict(load) for load in st.loads],
                                }
                                for st in t.stops
                            ],
                        }
                        for t in r.trips
                    ],
                }
                for r in self.routes
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "source",
                "source_kind",
                "lot",
                "shelter",
                "item",
                "qty",
                "ready_hours",
                "arrival_hours",
                "on_time",
            ]
        )
        for sh in self.shipments:
            writer.writerow(
                [
                    sh.source,
                    sh.source_kind.value,
                    sh.lot or "",
                    sh.shelter,
                    sh.item,
                    sh.qty,
                    _round(sh.ready_hours),
                    _round(sh.arrival_hours),
                    sh.arrival_hours <= self.deadline_hours + 1e-9,
                ]
            )
        return out.getvalue()

    def to_geojson(self) -> dict[str, Any]:
        """Sources and shelters as points (shelters coloured by coverage); each vehicle
        trip as a line along its roads; other shipments (all of them in a plan without
        tours) as straight lines from source to shelter. The features are the map layers'
        (`optimizer.layers`), in one collection."""
        from optimizer.layers import (
            collection,
            line,
            plan_shelter_features,
            source_features,
            tour_features,
        )
        from optimizer.plan_document import PlanDocument

        doc = PlanDocument.model_validate(self.to_dict())
        where = {s.code: (s.lon, s.lat) for s in self.shelters}
        paths = {(r.vehicle, t.trip): t.path for r in self.routes for t in r.trips}
        features = [
            *source_features(doc),
            *plan_shelter_features(doc, where),
            *tour_features(doc, paths),
        ]
        sources = {src["code"]: (src["lon"], src["lat"]) for src in self.sources}
        for k, sh in enumerate(self.shipments, start=1):
            if self.routes and sh.source_kind == SourceKind.DEPOT:
                continue  # its truck's tour is drawn instead
            if sh.source in sources and sh.shelter in where:
                features.append(
                    line(
                        f"shipment:{k}",
                        [sources[sh.source], where[sh.shelter]],
                        {
                            "kind": "shipment",
                            "source": sh.source,
                            "shelter": sh.shelter,
                            "item": sh.item,
                            "lot": sh.lot,
                            "qty": sh.qty,
                            "arrival_hours": _round(sh.arrival_hours),
                        },
                    )
                )
        return collection(features, self.name)


def document_fingerprint(document: dict[str, Any]) -> str:
    """sha256 of a plan document (as `Plan.to_dict()` or plan.json gives it) without its
    timings and provenance: two runs made the same plan exactly when these are equal."""
    doc = {k: v for k, v in document.items() if k not in ("solve_seconds", "provenance")}
    if doc.get("routing"):
        doc["routing"] = {k: v for k, v in doc["routing"].items() if k != "seconds"}
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _round(value: float | None) -> float | None:
    if value is None or math.isinf(value):
        return None
    return round(value, 3)
