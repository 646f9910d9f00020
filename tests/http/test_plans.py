"""Plan jobs over HTTP: started in the background, watched by polling and by server-sent
events, read, approved once through dispatch; a restart reports the jobs it lost."""

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.http.jobs import JobRunner
from supply.db import read_scope, session_scope
from supply.models import DepotCreate, FleetCreate, ItemCreate, Reservation, Tier
from supply.services import plan_jobs, stock
from supply.services.catalogue import upsert_depots, upsert_items
from supply.services.fleet import upsert_fleet
from tests.http.conftest import DATA, LATE, Api, is_problem, new_job

TINY = {"scenario": "tiny", "routes": False, "time_limit_s": 5}


def _tiny_ledger(api: Api) -> None:
    """The tiny scenario's county depot CTY in the ledger, placed, with a truck and stock."""
    from datetime import date

    with session_scope(api.engine) as session:
        upsert_items(
            session,
            [
                ItemCreate(
                    code="QUILT",
                    name_zh="棉被",
                    name_en="Quilt",
                    category="bedding",
                    unit="piece",
                    unit_weight_kg=2.5,
                    unit_volume_m3=0.03,
                )
            ],
        )
        upsert_depots(
            session,
            [DepotCreate(code="CTY", name="县库", tier=Tier.COUNTY, lat=40.0, lon=122.0)],
        )
        upsert_fleet(
            session,
            [
                FleetCreate(
                    depot="CTY",
                    vehicle_type="medium",
                    count=2,
                    capacity_kg=8000,
                    capacity_m3=35,
                    speed_kmh=60,
                )
            ],
        )
        meta = stock.Meta(actor="test")
        stock.receive(
            session,
            depot="CTY",
            item="WATER",
            qty=200,
            lot="W1",
            expires_on=date.fromisoformat(LATE),
            meta=meta,
        )
        stock.receive(session, depot="CTY", item="QUILT", qty=300, lot="Q1", meta=meta)


def _finished(api: Api, job_id: int) -> dict[str, Any]:
    """Poll a job until it ends (a bound on polls, not a timing assertion)."""
    auditor = api.client("auditor")
    for _ in range(600):
        job: dict[str, Any] = auditor.get(f"/plans/{job_id}").json()
        if job["status"] in ("done", "failed", "lost"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end: {job}")


def test_plan_job_runs_and_is_approved_once(api: Api) -> None:
    """A dispatcher's job plans the tiny scenario from the ledger; its plan reserves the
    ledger's lots when approved; a second approval is a 409 problem and reserves nothing."""
    _tiny_ledger(api)
    dispatcher = api.client("dispatcher")
    queued = dispatcher.post("/plans", json=TINY)
    assert queued.status_code == 202, queued.text
    assert queued.json()["requested_by"] == "dispatcher"
    job = _finished(api, queued.json()["id"])
    assert job["status"] == "done", job
    document = dispatcher.get(job["plan_href"]).json()
    shipped = sum(s["qty"] for s in document["shipments"] if s["source_kind"] == "depot")
    assert shipped > 0
    approved = dispatcher.post(f"/plans/{job['id']}/approval", json={})
    assert approved.status_code == 201, approved.text
    assert approved.json()["qty"] == shipped
    with read_scope(api.engine) as session:
        held = sum(r.qty for r in session.scalars(select(Reservation)))
    assert held == shipped
    again = dispatcher.post(f"/plans/{job['id']}/approval", json={})
    assert is_problem(again, 409)
    with read_scope(api.engine) as session:
        assert sum(r.qty for r in session.scalars(select(Reservation))) == shipped
    assert (
        api.client("auditor").get(f"/plans/{job['id']}").json()["approved_as"]
        == (approved.json()["number"])
    )


def test_events_stream_ends_with_the_jobs_outcome(api: Api) -> None:
    """The event stream of a job sends progress while it runs and ends with `done`."""
    _tiny_ledger(api)
    job_id = api.client("planner").post("/plans", json=TINY).json()["id"]
    events: list[tuple[str, dict[str, Any]]] = []
    with api.client("auditor").stream("GET", f"/plans/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((event, json.loads(line.removeprefix("data: "))))
    assert events[-1][0] == "done"
    assert events[-1][1]["status"] == "done"
    assert {name for name, _ in events[:-1]} <= {"progress"}


def test_unknown_scenario_is_refused_and_queues_nothing(api: Api) -> None:
    """A scenario the server does not have, or a path in its name, is refused."""
    planner = api.client("planner")
    assert is_problem(planner.post("/plans", json={"scenario": "atlantis"}), 404)
    assert is_problem(planner.post("/plans", json={"scenario": "../tiny"}), 422)
    assert api.client("auditor").get("/plans").json()["items"] == []


def test_failed_plan_says_why(api: Api, tmp_path: Path) -> None:
    """A scenario that cannot be read fails its job with the reader's reason kept, and
    the job has no plan to read."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "scenario.yaml").write_text("name: broken\n", encoding="utf-8")
    api.app.state.relief.runner.scenarios_root = tmp_path
    job_id = api.client("planner").post("/plans", json={"scenario": "broken"}).json()["id"]
    job = _finished(api, job_id)
    assert job["status"] == "failed"
    assert "broken" in job["error"]
    assert is_problem(api.client("auditor").get(f"/plans/{job_id}/plan"), 409)


def test_restart_marks_unfinished_jobs_lost(api: Api) -> None:
    """Jobs queued or running when the server stopped are reported lost at the next start;
    finished jobs are left as they are."""
    with session_scope(api.engine) as session:
        queued_id = new_job(session, "dispatcher")
        failed_id = new_job(session, "dispatcher")
        plan_jobs.fail(session, failed_id, "no depot")
    with session_scope(api.engine) as session:
        assert plan_jobs.mark_lost(session) == 1
    auditor = api.client("auditor")
    lost = auditor.get(f"/plans/{queued_id}").json()
    assert (lost["status"], lost["error"] is not None) == ("lost", True)
    assert auditor.get(f"/plans/{failed_id}").json()["status"] == "failed"


def _queued(api: Api) -> int:
    with session_scope(api.engine) as session:
        return new_job(session, "planner")


def test_cancelled_queued_job_never_starts(api: Api) -> None:
    """A queued job cancelled by a planner is not started by the runner; cancelling it again
    is a 409 problem."""
    job_id = _queued(api)
    planner = api.client("planner")
    answer = planner.post(f"/plans/{job_id}/cancel", json={})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["error"]) == (
        "cancelled",
        "cancelled by planner",
    )
    with session_scope(api.engine) as session:
        assert plan_jobs.start(session, job_id) is False
    assert is_problem(planner.post(f"/plans/{job_id}/cancel", json={}), 409)


def test_running_job_cancelled_discards_its_result(api: Api) -> None:
    """A running job cancelled meanwhile stays cancelled when the planner returns: its plan
    is not kept and cannot be approved."""
    job_id = _queued(api)
    with session_scope(api.engine) as session:
        assert plan_jobs.start(session, job_id)
    assert api.client("dispatcher").post(f"/plans/{job_id}/cancel", json={}).status_code == 200
    with session_scope(api.engine) as session:
        plan_jobs.report_progress(session, job_id, "late progress")
        plan_jobs.finish(session, job_id, plan_json="{}", summary="late result")
    job = api.client("auditor").get(f"/plans/{job_id}").json()
    assert (job["status"], job["progress"], job["plan_href"]) == ("cancelled", None, None)
    assert is_problem(api.client("dispatcher").post(f"/plans/{job_id}/approval", json={}), 409)


def _never_ends(_url: str, _busy: float, _root: str, _job_id: int) -> None:
    """A planner that would outlast any test unless its process is stopped."""
    time.sleep(3600)


def _dies(_url: str, _busy: float, _root: str, _job_id: int) -> None:
    os._exit(3)


def _runner(api: Api, entry: Callable[[str, float, str, int], None]) -> JobRunner:
    served = api.app.state.relief.runner
    return JobRunner(api.engine, DATA, url=served.url, entry=entry)


def _children() -> list[str]:
    return [p.name for p in multiprocessing.active_children()]


def _planning(api: Api, job_id: int) -> None:
    """Wait until the job is running and its planner's process is alive."""
    for _ in range(600):  # a bound on polls, not a timing assertion
        with read_scope(api.engine) as session:
            running = plan_jobs.job_by_id(session, job_id).status == "running"
        if running and f"plan-job-{job_id}" in _children():
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never ran")


def test_cancel_stops_the_running_planners_process(api: Api) -> None:
    """A running job's planner runs in a process of its own; cancelling the job ends that
    process (the watcher returns although the planner never would) and the job stays
    cancelled."""
    runner = _runner(api, _never_ends)
    try:
        job_id = _queued(api)
        watched = runner.submit(job_id)
        _planning(api, job_id)
        assert api.client("planner").post(f"/plans/{job_id}/cancel", json={}).status_code == 200
        watched.result(timeout=300)
        assert f"plan-job-{job_id}" not in _children()
        job = api.client("auditor").get(f"/plans/{job_id}").json()
        assert (job["status"], job["error"]) == ("cancelled", "cancelled by planner")
    finally:
        with session_scope(api.engine) as session:
            plan_jobs.mark_lost(session)  # a failed test's planner is stopped all the same
        runner.shutdown()


def test_planner_process_that_dies_fails_its_job(api: Api) -> None:
    """A planner process that ends without recording anything (killed, out of memory)
    leaves its job failed with the exit code, not running for ever."""
    runner = _runner(api, _dies)
    try:
        job_id = _queued(api)
        runner.submit(job_id).result(timeout=300)
    finally:
        runner.shutdown()
    job = api.client("auditor").get(f"/plans/{job_id}").json()
    assert job["status"] == "failed"
    assert "code 3" in job["error"]


def test_job_list_leaves_plan_documents_unread(api: Api) -> None:
    """Listing jobs reads their columns, not their plan documents; the list still links a
    done job's plan."""
    job_id = _queued(api)
    with session_scope(api.engine) as session:
        assert plan_jobs.start(session, job_id)
        plan_jobs.finish(session, job_id, plan_json='{"shipments": []}', summary="planned")
    with read_scope(api.engine) as session:
        (job,) = plan_jobs.list_jobs(session)
        assert "plan_json" not in job.__dict__
    (listed,) = api.client("auditor").get("/plans").json()["items"]
    assert (listed["status"], listed["plan_href"]) == ("done", f"/plans/{job_id}/plan")


def test_done_job_serves_the_plans_files(api: Api) -> None:
    """A done job lists the files `relief plan --out` writes and serves each with its
    media type; the CSV's shipments are the document's; unknown names are 404 problems."""
    import csv
    import io

    _tiny_ledger(api)
    planner = api.client("planner")
    job = _finished(api, planner.post("/plans", json=TINY).json()["id"])
    assert job["status"] == "done", job
    listed = planner.get(job["results_href"]).json()
    names = [f["name"] for f in listed]
    assert names[0] == "plan.json"
    assert {"inputs.json", "plan.geojson", "shipments.csv", "plan.png"} <= set(names)
    assert "manifests.csv" not in names  # not routed: no trucks' manifests
    document = planner.get(job["plan_href"]).json()
    shipped = planner.get(f"/plans/{job['id']}/results/shipments.csv")
    assert shipped.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(shipped.text)))
    assert sum(int(r["qty"]) for r in rows) == sum(s["qty"] for s in document["shipments"])
    geo = planner.get(f"/plans/{job['id']}/results/plan.geojson")
    assert geo.headers["content-type"] == "application/geo+json"
    assert geo.json()["type"] == "FeatureCollection"
    assert planner.get(f"/plans/{job['id']}/results/plan.json").json() == document
    assert is_problem(planner.get(f"/plans/{job['id']}/results/nothing.csv"), 404)
    assert is_problem(planner.get(f"/plans/{job['id']}/results/a b.csv"), 422)


def test_results_of_an_unfinished_job_are_a_conflict(api: Api) -> None:
    job_id = _queued(api)
    assert is_problem(api.client("auditor").get(f"/plans/{job_id}/results"), 409)
    assert is_problem(api.client("auditor").get(f"/plans/{job_id}/results/plan.json"), 409)
