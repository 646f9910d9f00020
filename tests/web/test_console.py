"""The console in Chromium: log in, the map's depots and shelters, a shelter's reasons, a
plan from start to approval with its progress, a keeper's refused over-issue, zh/en."""

from typing import Any

from playwright.sync_api import Page, expect

from api.http.web.messages import MESSAGES
from scenarios.scenario import load_scenario
from tests.web.conftest import PASSWORD, SCENARIOS, Console, artifact


def log_in(page: Page, console: Console, username: str, path: str = "/") -> None:
    """Open `path`, be sent to the login page, log in and come back to `path`."""
    page.goto(console.base + path)
    page.wait_for_url("**/login?next=*")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(console.base + path)


def zh_reason(reason: str) -> str:
    cause = MESSAGES["zh"].get("reason_" + reason.split(":")[0].replace(" ", "_"))
    return f"{cause} {reason}" if cause else reason


def wait_for_map(page: Page, scenario: str, plan: int | None = None) -> None:
    expect(page.locator("#map")).to_have_attribute("data-ready", f"{scenario}|{plan or ''}")


def layer_count(page: Page, layer: str) -> int:
    count: int = page.evaluate(f"reliefMap.layers.{layer}.getLayers().length")
    return count


def click_feature(page: Page, layer: str, code: str) -> None:
    """A real mouse click where the map draws the feature (canvas: no element to click)."""
    x, y = page.evaluate(
        """([layer, code]) => {
            const hit = reliefMap.layers[layer].getLayers().find((l) => l.feature.id === code);
            const p = reliefMap.map.latLngToContainerPoint(hit.getLatLng());
            return [p.x, p.y];
        }""",
        [layer, code],
    )
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + x, box["y"] + y)


def test_login_then_the_map_shows_every_depot_and_shelter(page: Page, console: Console) -> None:
    """Haicheng: every depot and agreement supplier, every shelter and every road drawn;
    a screenshot of the map is kept."""
    _meta, problem = load_scenario(SCENARIOS["haicheng-earthquake"])
    log_in(page, console, "auditor")
    page.select_option("#scenario", "haicheng-earthquake")
    wait_for_map(page, "haicheng-earthquake")
    assert layer_count(page, "depots") == len(problem.depots) + len(problem.agreements)
    assert layer_count(page, "shelters") == len(problem.shelters)
    assert page.evaluate("reliefMap.state.roads") == len(problem.roads)
    expect(page.locator("#counts")).to_contain_text(f"道路 {len(problem.roads)}")
    # Depots are DOM markers, one symbol class per tier.
    expect(page.locator(".leaflet-marker-icon.depot-province")).to_have_count(
        sum(d.tier == "province" for d in problem.depots)
    )
    # Sized by one item's stock: a depot without it shrinks to the smallest symbol.
    held = {(lot.depot, lot.item) for lot in problem.lots}
    item, without = next(
        (i.code, d.code)
        for i in problem.items
        for d in problem.depots
        if (d.code, i.code) not in held and any(it == i.code for _, it in held)
    )
    page.select_option("#size-by", item)
    width = (
        "reliefMap.layers.depots.getLayers()"
        f".find((m) => m.feature.id === 'depot:{without}')._icon.offsetWidth"
    )
    assert page.evaluate(width) == 8
    page.select_option("#size-by", "")
    assert page.evaluate(width) > 8
    page.screenshot(path=artifact("map-haicheng.png"))
    click_feature(page, "shelters", problem.shelters[0].code)
    expect(page.locator("#panel-body h2")).to_have_text(problem.shelters[0].name)


def _run_plan(page: Page) -> int:
    page.select_option("#scenario", "tiny")
    page.fill("#time-limit", "5")
    page.click("#start")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "done", timeout=120_000)
    expect(page.locator("#job-status")).to_have_text("完成")
    expect(page.locator("#result")).to_be_visible()
    return int(page.locator("#job-id").inner_text().lstrip("#"))


def test_a_plan_runs_to_the_end_is_approved_and_its_shelters_say_why(
    page: Page, console: Console
) -> None:
    """The dispatcher starts a routed plan of the tiny scenario, sees its events to the end
    and the headline, approves it once; on the map a short shelter shows the plan's reasons
    and a tour its stops."""
    log_in(page, console, "dispatcher", "/dispatch")
    job_id = _run_plan(page)
    assert int(page.locator("#event-count").inner_text()) >= 1
    document: dict[str, Any] = console.get(f"/plans/{job_id}/plan").json()
    served = document["kpis"]["residents_served_on_time"]
    expect(page.locator("#served")).to_contain_text(f"{served:,}")
    worst = page.locator("#worst tbody tr")
    expect(worst).to_have_count(len(document["shelters"]))
    page.click("#approve")
    expect(page.locator("#approval")).to_contain_text("已批准 DP-")
    number = console.get(f"/plans/{job_id}").json()["approved_as"]
    assert number.startswith("DP-")
    # Reloaded, the page finds its job again, approved once.
    page.reload()
    expect(page.locator("#approval")).to_have_text(f"已批准 {number}")
    expect(page.locator("#approve")).to_be_disabled()

    page.click("#view-map")
    page.wait_for_url(f"**/?plan={job_id}&scenario=tiny")
    wait_for_map(page, "tiny", job_id)
    short = next(s for s in document["shelters"] if s["reasons"])
    click_feature(page, "shelters", short["code"])
    # The planner's reasons, each a Chinese sentence first, the planner's words beside it.
    said = page.locator("#reasons li")
    expect(said).to_have_count(len(short["reasons"]))
    for k, reason in enumerate(short["reasons"]):
        expect(said.nth(k)).to_contain_text(" — " + reason)
        assert zh_reason(reason) != reason  # a cause the console has words for
    assert layer_count(page, "tours") == sum(len(r["trips"]) for r in document["routes"])
    page.screenshot(path=artifact("map-tiny-plan.png"))


def test_a_keepers_over_issue_shows_the_refusal(page: Page, console: Console) -> None:
    """The API's problem (库存不足, available and requested) is shown as it came."""
    log_in(page, console, "keeper", "/keeper")
    rows = page.locator("#balances tbody tr")
    expect(rows).not_to_have_count(0)
    # The subtree of CTY, one item: only its lots.
    page.select_option("#f-depot", "CTY")
    page.fill("#f-item", "QUILT")
    page.click("#filter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Q1")
    page.click("#tab-forms")
    page.select_option("#i-depot", "CTY")
    page.fill("#i-item", "WATER")
    page.fill("#i-qty", "1000000")
    page.click("#issue")
    refusal = page.locator("#issue-result")
    expect(refusal).to_contain_text("库存不足 Insufficient stock")
    expect(refusal).to_contain_text("requested 1000000")


def test_the_language_switch_changes_the_labels(page: Page, console: Console) -> None:
    log_in(page, console, "auditor")
    wait_for_map(page, "haicheng-earthquake")
    nav = page.locator(".bar nav")
    expect(nav).to_contain_text("一张图")
    expect(page.locator(".leaflet-control-layers")).to_contain_text("安置点")
    page.click("#lang-switch")
    expect(nav).to_contain_text("Map")
    expect(page.locator(".leaflet-control-layers")).to_contain_text("Shelters")
    expect(page.locator("#counts")).to_contain_text("Shelters")
    page.click("#lang-switch")
    expect(nav).to_contain_text("调度")
