"""The dispatcher's and planner's pages in Chromium: an approved plan's truck departs and
delivers a stop; a bad workbook's refusal names sheet, row and column; closing roads
plans the variant; the planner's chart has a bar per scenario; zh/en labels."""

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from api.http.web.messages import MESSAGES
from optimizer.plan_document import PlanDocument
from supply.db import session_scope
from supply.services import plan_jobs
from tests.http.test_variants import SHELTERS, XLSX, workbook
from tests.web.conftest import SCENARIOS, Console, artifact
from tests.web.test_console import _run_plan, log_in

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_approve_then_depart_and_deliver_one_stop(page: Page, console: Console) -> None:
    """After approval the trucks table lists the plan's trips; departing the first trip
    puts it on the road, delivering its first stop marks that stop delivered (as the API
    says); a short shelter's reasons read as Chinese sentences beside the planner's words."""
    log_in(page, console, "dispatcher", "/dispatch")
    job_id = _run_plan(page)
    document: dict[str, Any] = console.get(f"/plans/{job_id}/plan").json()
    # The headline: served, the bound of the routed plan, first batches on target by tier.
    kpis = document["kpis"]
    expect(page.locator("#served")).to_contain_text(f"{kpis['residents_served_on_time']:,}")
    bound = (document.get("routing") or {}).get("bound_residents")
    expect(page.locator("#bound")).to_have_text("—" if bound is None else f"{bound:,}")
    for tier, row in kpis["first_batch_on_target"].items():
        expect(page.locator("#first-batch")).to_contain_text(
            f"{MESSAGES['zh']['tier_' + tier]} {row['on_target']}/{row['shelters']}"
        )
    short = next(s for s in document["shelters"] if s["reasons"])
    row = page.locator("#worst tbody tr", has_text=short["name"] or short["code"])
    for reason in short["reasons"]:
        said = row.locator("li", has_text=reason).first
        expect(said).to_contain_text(" — " + reason)
        zh = said.inner_text().split(" — ")[0]
        assert CJK.search(zh), zh
        assert reason.split(":")[0] not in zh, zh
    page.click("#approve")
    expect(page.locator("#trucks")).to_be_visible()
    number = console.get(f"/plans/{job_id}").json()["approved_as"]
    expect(page.locator("#dispatch-number")).to_have_text(number)
    route = document["routes"][0]
    vehicle, first_stop = route["vehicle"], route["trips"][0]["stops"][0]["stop"]
    trip = page.locator(f'#tours tr.trip[data-vehicle="{vehicle}"][data-trip="1"]')
    stop = page.locator(f'#tours tr.stop[data-vehicle="{vehicle}"][data-stop="{first_stop}"]')
    expect(trip.locator(".status")).to_have_attribute("data-status", "reserved")
    expect(stop.locator("button")).to_be_disabled()
    trip.locator("button").click()
    expect(trip.locator(".status")).to_have_attribute("data-status", "in_transit")
    expect(page.locator("#move-result")).to_contain_text("已过账")
    stop.locator("button").click()
    expect(stop.locator(".status")).to_have_attribute("data-status", "delivered")
    expect(stop.locator(".status")).to_have_text("已送达")
    loads = console.get(f"/dispatch/plans/{number}").json()["loads"]
    assert {
        ld["status"] for ld in loads if ld["vehicle"] == vehicle and ld["stop"] == first_stop
    } == {"delivered"}
    page.screenshot(path=artifact("dispatch-trucks.png"))


def test_a_bad_workbook_shows_sheet_row_and_field(
    page: Page, console: Console, tmp_path: Path
) -> None:
    """Negative residents on row 3 of the shelters sheet: the refusal names the file, the
    sheet, the row and the column; a good workbook makes a variant that is chosen."""
    log_in(page, console, "dispatcher", "/dispatch")
    page.click("#variants summary")
    page.select_option("#scenario", "tiny")
    bad = [*SHELTERS[:2], ["NEW-2", "二", 40.0, 122.1, -5]]
    page.set_input_files(
        "#variant-file",
        files=[{"name": "坏表.xlsx", "mimeType": XLSX, "buffer": workbook(shelters=bad)}],
    )
    page.click("#variant-make")
    result = page.locator("#variant-result")
    expect(result).to_contain_text("坏表.xlsx sheet shelters:3: residents")
    expect(result).to_have_class("error")
    page.set_input_files(
        "#variant-file",
        files=[{"name": "好表.xlsx", "mimeType": XLSX, "buffer": workbook(shelters=SHELTERS)}],
    )
    page.click("#variant-make")
    expect(result).to_have_class("ok")
    expect(page.locator("#scenario")).to_have_value(re.compile(r"^tiny--"))


def test_close_roads_and_replan(page: Page, console: Console) -> None:
    """Two of Haicheng's roads closed from the dispatch page: a plan job of the variant
    runs to the end, and the variant has those roads closed on its road layer."""
    log_in(page, console, "dispatcher", "/dispatch")
    page.select_option("#scenario", "haicheng-earthquake")
    page.uncheck("#routes")
    page.fill("#time-limit", "5")
    page.click("#variants summary")
    page.fill("#close-roads", "1, 2")
    page.click("#replan")
    expect(page.locator("#variant-result")).to_contain_text("haicheng-earthquake--")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "done", timeout=300_000)
    job_id = int(page.locator("#job-id").inner_text().lstrip("#"))
    scenario = console.get(f"/plans/{job_id}").json()["scenario"]
    assert scenario.startswith("haicheng-earthquake--")
    roads = console.get(f"/scenarios/{scenario}/layers/roads.geojson").json()["features"]
    status = {f["id"]: f["properties"]["status"] for f in roads}
    assert (status["road:1"], status["road:2"]) == ("closed", "closed")


def _finished_job(console: Console, scenario: str, served: int, total: int) -> None:
    """A done plan job of `scenario` whose plan served `served` of `total` residents."""
    document = PlanDocument(
        name=f"compare-{scenario}",
        status="optimal",
        kpis={"residents_served_on_time": served, "residents_total": total},
        shipments=[],
    )
    with session_scope(console.engine) as session:
        job = plan_jobs.create_job(
            session,
            scenario=scenario,
            scenarios_root=SCENARIOS[scenario].parent,
            from_ledger=False,
            routes=False,
            time_limit_s=None,
            deadline_hours=None,
            requested_by="planner",
        )
        assert job.id is not None
        plan_jobs.start(session, job.id)
        plan_jobs.finish(
            session, job.id, plan_json=json.dumps(document.to_json_dict()), summary="compare"
        )


def test_planner_page_draws_a_bar_per_scenario(page: Page, console: Console) -> None:
    """One bar per scenario with a finished plan, its latest plan's figures on it."""
    _finished_job(console, "tiny", 150, 350)
    _finished_job(console, "haicheng-earthquake", 1200, 4000)
    jobs = console.get("/plans?limit=1000").json()["items"]
    listed = {s["name"] for s in console.get("/scenarios").json()}
    planned = {j["scenario"] for j in jobs if j["status"] == "done"} & listed
    log_in(page, console, "planner", "/planner")
    bars = page.locator("#chart svg g.bar")
    expect(bars).to_have_count(len(planned))
    assert {"tiny", "haicheng-earthquake"} <= planned
    tiny = page.locator('#chart g.bar[data-scenario="tiny"]')
    expect(tiny.locator("title")).to_have_text("tiny: 150 / 350")
    assert float(tiny.locator("rect.served").get_attribute("width") or 0) > 0
    page.screenshot(path=artifact("planner.png"))


def test_the_en_switch_changes_the_dispatch_and_planner_labels(
    page: Page, console: Console
) -> None:
    log_in(page, console, "planner", "/planner")
    expect(page.locator("h1")).to_have_text("情景比较")
    expect(page.locator(".bar nav")).to_contain_text("规划")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Compare scenarios")
    expect(page.locator(".bar nav")).to_contain_text("Planning")
    page.goto(console.base + "/dispatch")
    expect(page.locator("#variants summary")).to_have_text("Scenario variant")
    expect(page.locator("#replan")).to_have_text("Close and re-plan")
    page.click("#lang-switch")
    expect(page.locator("#replan")).to_have_text("关闭道路并重新规划")
