"""The dispatcher's and planner's pages in Chromium: an approved plan's truck departs and
delivers a stop; a bad workbook's refusal names sheet, row and column; closing roads
plans the variant; the planner's chart has a bar per scenario; zh/en labels."""

import json
import re
from datetime import date
from typing import Any

from playwright.sync_api import Page, expect

from api.http.web.messages import MESSAGES
from optimizer.plan_document import ItemCoverageDoc, PlanDocument, ShelterDoc
from supply.db import session_scope
from supply.services import plan_jobs, stock
from tests.http.test_variants import SHELTERS, XLSX, workbook
from tests.web.conftest import SCENARIOS, Console, artifact
from tests.web.test_console import _run_plan, log_in, wait_for_map

LATE = date(2099, 12, 31)


def _restock(console: Console) -> None:
    """Stock at the tiny scenario's depot for this test's plan (the other tests' approved
    plans hold what was there)."""
    meta = stock.Meta(actor="test")
    with session_scope(console.engine) as session:
        for item, lot in (("WATER", "W-DISPATCH"), ("QUILT", "Q-DISPATCH")):
            stock.receive(
                session, depot="CTY", item=item, qty=400, lot=lot, expires_on=LATE, meta=meta
            )


def test_approve_then_depart_and_deliver_one_stop(page: Page, console: Console) -> None:
    """After approval the trucks table lists the plan's trips; departing the first trip
    puts it on the road, delivering its first stop marks that stop delivered (as the API
    says); a short shelter's reasons read as Chinese sentences beside the planner's words."""
    _restock(console)
    log_in(page, console, "dispatcher", "/dispatch")
    job_id = _run_plan(page)
    document: dict[str, Any] = console.get(f"/plans/{job_id}/plan").json()
    # The headline: served, the bound of the routed plan, first batches on target by tier.
    kpis = document["kpis"]
    expect(page.locator("#served")).to_contain_text(f"{kpis['residents_served_on_time']:,}")
    expect(page.locator("#plan-status")).to_have_text(MESSAGES["zh"]["solve_" + document["status"]])
    bound = (document.get("routing") or {}).get("bound_residents")
    expect(page.locator("#bound")).to_have_text("—" if bound is None else f"{bound:,}")
    for tier, row in kpis["first_batch_on_target"].items():
        expect(page.locator("#first-batch")).to_contain_text(
            f"{MESSAGES['zh']['tier_' + tier]} {row['on_target']}/{row['shelters']}"
        )
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


def test_a_bad_workbook_shows_sheet_row_and_field(page: Page, console: Console) -> None:
    """Negative residents on row 3 of the shelters sheet: the refusal names the file, the
    sheet, the row and the column; a good workbook makes a variant that is chosen and planned."""
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
    # Then planned: the job's plan has the uploaded shelters.
    page.fill("#time-limit", "5")
    page.click("#start")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "done", timeout=120_000)
    job_id = int(page.locator("#job-id").inner_text().lstrip("#"))
    shelters = console.get(f"/plans/{job_id}/plan").json()["shelters"]
    assert sorted(s["code"] for s in shelters) == ["NEW-1", "NEW-2"]


#: A road of the map's road layer whose midpoint no marker covers, and where it is drawn.
_FREE_ROAD = """() => {
    const { map, layers, state } = reliefMap;
    const markers = [...layers.shelters.getLayers(), ...layers.depots.getLayers()].map((m) =>
        map.latLngToContainerPoint(m.getLatLng()));
    const size = map.getSize();
    for (const f of state.roadFeatures) {
        if (f.properties.status !== "open") continue;
        const [a, b] = f.geometry.coordinates.map(([lon, lat]) =>
            map.latLngToContainerPoint([lat, lon]));
        const mid = a.add(b).divideBy(2);
        if (mid.x < 40 || mid.y < 40 || mid.x > size.x - 40 || mid.y > size.y - 40) continue;
        if (a.distanceTo(b) < 30 || markers.some((m) => m.distanceTo(mid) < 25)) continue;
        return [f.id, mid.x, mid.y];
    }
    return null;
}"""


def test_close_a_road_on_the_map_and_replan(page: Page, console: Console) -> None:
    """A click on one of Haicheng's roads opens its panel; its link takes the road to the
    dispatch page, where a second road is added and both are closed: a plan job of the
    variant runs to the end, and the variant's road layer has those roads closed."""
    log_in(page, console, "dispatcher", "/?scenario=haicheng-earthquake")
    wait_for_map(page, "haicheng-earthquake")
    found = page.evaluate(_FREE_ROAD)
    assert found is not None
    road, x, y = found
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#panel-body h2")).to_contain_text(road)
    page.click("#close-road")
    page.wait_for_url("**/dispatch?*")
    number = road.removeprefix("road:")
    expect(page.locator("#close-roads")).to_have_value(number)
    expect(page.locator("#scenario")).to_have_value("haicheng-earthquake")
    other = "2" if number != "2" else "3"
    page.fill("#close-roads", f"{number}, {other}")
    page.uncheck("#routes")
    page.fill("#time-limit", "5")
    page.click("#replan")
    expect(page.locator("#variant-result")).to_contain_text("haicheng-earthquake--")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "done", timeout=300_000)
    job_id = int(page.locator("#job-id").inner_text().lstrip("#"))
    scenario = console.get(f"/plans/{job_id}").json()["scenario"]
    assert scenario.startswith("haicheng-earthquake--")
    roads = console.get(f"/scenarios/{scenario}/layers/roads.geojson").json()["features"]
    status = {f["id"]: f["properties"]["status"] for f in roads}
    assert (status[road], status[f"road:{other}"]) == ("closed", "closed")


def _finished_job(
    console: Console,
    scenario: str,
    served: int,
    total: int,
    shelters: list[ShelterDoc] | None = None,
) -> int:
    """A done plan job of `scenario` whose plan served `served` of `total` residents."""
    document = PlanDocument(
        name=f"compare-{scenario}-{served}",
        status="optimal",
        kpis={"residents_served_on_time": served, "residents_total": total},
        shipments=[],
        shelters=shelters or [],
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
        return job.id


#: The planner's reasons (optimizer/coverage.py) and the sentences the console reads them as.
REASONS = {
    "deadline: the soonest can arrive at 12.5 h (WATER* 0/40 on time)": (
        "最快也要 12.5 小时才能送到，超过时限。 按时到达/需求：WATER* 0/40（* 为关键物资）"
    ),
    "fleet capacity: vehicles of CTY, TWN fully used by 10 h (QUILT 5/40 on time)": (
        "CTY, TWN 的车辆在 10 小时内已全部满载。 按时到达/需求：QUILT 5/40"
    ),
    "unreachable: every road to the shelter is closed": "通往该安置点的道路全部中断，无法送达。",
}


def test_reasons_read_as_chinese_sentences(page: Page, console: Console) -> None:
    """Each of a shelter's reasons is a Chinese sentence naming its hours, depots and
    items, the planner's words beside it; in English the planner's words alone."""
    short = ShelterDoc(
        code="SH-X",
        name="某安置点",
        residents=40,
        items=[ItemCoverageDoc(item="WATER", need=40, unmet=40)],
        reasons=list(REASONS),
    )
    job_id = _finished_job(console, "tiny", 0, 40, [short])
    log_in(page, console, "dispatcher", f"/dispatch?job={job_id}")
    said = page.locator("#worst tbody tr", has_text="某安置点").locator("li")
    expect(said).to_have_text([f"{zh} — {en}" for en, zh in REASONS.items()])
    page.click("#lang-switch")
    expect(page.locator("#worst tbody tr", has_text="某安置点").locator("li")).to_have_text(
        list(REASONS)
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
