"""The planner's comparison of siting networks in Chromium: real evaluation.json files (the
CLI's `siting evaluate`, in-process, on the bundled Haicheng set) and a siting.json from the
real writer are chosen in the file input and drawn as one bar per network and scenario with a
legend entry per network; a file that is not such a document is refused by name; zh/en."""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import FilePayload, Page, expect
from typer.testing import CliRunner

from api.cli.main import app
from api.http.web.messages import MESSAGES
from optimizer.siting import solve_siting
from optimizer.siting.report import document
from scenarios.scenario import SCENARIOS_DIR
from tests.optimizer.siting.instances import hand_set
from tests.web.conftest import Console, artifact
from tests.web.test_console import log_in

SET = SCENARIOS_DIR / "haicheng-siting"
#: Two proposals for the Haicheng set: a new township point, or the new county depot.
KIT = {"WATER-24": 600, "QUILT": 2500, "TENT-12C": 800, "BISCUIT-10": 120}
PROPOSALS = {
    "north": [{"code": "NEW-CHAGOU", "opened": True, "stock": KIT}],
    "south": [
        {"code": "NEW-PAILOU-S", "opened": True, "stock": {k: 2 * q for k, q in KIT.items()}}
    ],
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two evaluation.json (today's network beside one proposal each) written by `relief
    siting evaluate --in-process`, and a siting.json written by the solver's own writer on
    a three-site hand-made set (solved in well under a second)."""
    tmp = tmp_path_factory.mktemp("networks")
    made = []
    for name, sites in PROPOSALS.items():
        proposal = tmp / f"{name}-siting.json"
        doc = {"name": name, "sites": sites, "expected_served": 0, "expected_total": 0,
               "cost": 0, "scenarios": []}  # fmt: skip
        proposal.write_text(json.dumps(doc), encoding="utf-8")
        out = tmp / name
        args = ["siting", "evaluate", str(SET), "--network", str(proposal), "--out", str(out)]
        result = CliRunner().invoke(app, [*args, "--in-process", "--time-limit", "5"])
        assert result.exit_code == 0, result.output
        made.append((out / "evaluation.json").rename(tmp / f"{name}-evaluation.json"))
    sset = hand_set()
    siting = tmp / "hand-siting.json"
    siting.write_text(json.dumps(document(solve_siting(sset, time_limit_s=10), sset)), "utf-8")
    made.append(siting)
    return made


def _read(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _bars_and_networks(paths: list[Path]) -> tuple[int, int]:
    """What the page should draw: a bar per (network, scenario) row, a network per entry."""
    bars = networks = 0
    for path in paths:
        doc = _read(path)
        if "networks" in doc:
            bars += len(doc["scenarios"])
            networks += len(doc["networks"])
        else:
            bars += len(doc["scenarios"])
            networks += 1
    return bars, networks


def test_two_evaluations_and_a_siting_draw_grouped_bars(
    page: Page, console: Console, files: list[Path]
) -> None:
    log_in(page, console, "planner", "/planner")
    expect(page.locator("#network-table tbody")).to_have_text(MESSAGES["zh"]["compare_none"])
    page.set_input_files("#network-files", [str(p) for p in files])
    bars, networks = _bars_and_networks(files)
    assert networks == 5  # today and a proposal per evaluation, the siting's own
    expect(page.locator("#network-legend li")).to_have_count(networks)
    expect(page.locator("#network-chart g.bar")).to_have_count(bars)
    expect(page.locator("#network-errors li")).to_have_count(0)
    # Each evaluation's rows are on their bars: the file's own figures, in the zh format.
    north = _read(files[0])
    for row in north["scenarios"]:
        name = MESSAGES["zh"]["compare_today"] if row["network"] == "today" else row["network"]
        entry = page.locator("#network-legend li", has_text=f"{name} — north-evaluation.json")
        expect(entry).to_have_count(1)
        k = entry.get_attribute("data-network")
        bar = page.locator(f'#network-chart g.bar[data-network="{k}"]')
        expect(bar.locator("title")).to_contain_text(
            f"{row['scenario']}: {row['residents_served']:,} / {row['residents_total']:,}"
        )
    # The siting.json's row: its name, its worst scenario, the sites it opens.
    hand = _read(files[2])
    row = page.locator("#network-table tbody tr", has_text="hand-siting.json")
    worst = min(hand["scenarios"], key=lambda s: s["share"])
    expect(row.locator("td").nth(0)).to_have_text(hand["name"])
    expect(row.locator("td").nth(4)).to_contain_text(worst["name"])
    expect(row.locator("td").nth(5)).to_have_text(str(sum(s["opened"] for s in hand["sites"])))
    page.screenshot(path=artifact("planner-compare.png"))


def _payload(name: str, content: bytes) -> FilePayload:
    """A file as the browser is given it (Playwright takes paths or payloads, not both)."""
    return {"name": name, "mimeType": "application/json", "buffer": content}


BROKEN = b'{"networks": {"x": {"expected_served": "many", "expected_total": 1}}, "scenarios": []}'


def test_a_file_that_is_not_a_document_is_refused_by_name(
    page: Page, console: Console, files: list[Path]
) -> None:
    """Bad files are refused, each naming the file and what is wrong; the good one is drawn,
    and choosing them raises no exception and logs no error."""
    log_in(page, console, "planner", "/planner")
    failures: list[str] = []
    page.on("pageerror", lambda exc: failures.append(str(exc)))
    page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
    page.set_input_files(
        "#network-files",
        [
            _payload(files[0].name, files[0].read_bytes()),
            _payload("notes.json", b"hello"),
            _payload("broken.json", BROKEN),
            _payload("plan.json", b'{"kpis": {}}'),
        ],
    )
    errors = page.locator("#network-errors li")
    expect(errors).to_have_count(3)
    expect(errors.nth(0)).to_contain_text("notes.json: 不是有效的 JSON")
    expect(errors.nth(1)).to_have_text(
        "broken.json: 字段 networks.x.expected_served 缺失或不是数字"
    )
    expect(errors.nth(2)).to_contain_text("plan.json: 既不是 evaluation.json 也不是 siting.json")
    expect(page.locator("#network-legend li")).to_have_count(len(_read(files[0])["networks"]))
    unnamed = b'{"expected_served": 1, "expected_total": 2, "scenarios": [{"name": "X"}]}'
    page.set_input_files("#network-files", [_payload("unnamed.json", unnamed)])
    expect(errors).to_have_text(["unnamed.json: 字段 scenarios[0].residents_served 缺失或不是数字"])
    expect(page.locator("#network-legend li")).to_have_count(0)
    assert failures == []


def test_the_en_switch_changes_the_comparison_labels(
    page: Page, console: Console, files: list[Path]
) -> None:
    log_in(page, console, "planner", "/planner")
    expect(page.locator("#networks h2")).to_have_text("比较选址方案")
    expect(page.locator("#network-table thead")).to_contain_text("最差情景")
    page.click("#lang-switch")
    expect(page.locator("#networks h2")).to_have_text("Compare siting networks")
    expect(page.locator("#network-table thead")).to_contain_text("Worst scenario")
    page.set_input_files(
        "#network-files",
        [_payload(files[1].name, files[1].read_bytes()), _payload("broken.json", BROKEN)],
    )
    expect(page.locator("#network-errors li")).to_have_text(
        "broken.json: field networks.x.expected_served is missing or not a number"
    )
    expect(page.locator("#network-legend li").first).to_have_text(
        "Today's network — south-evaluation.json"
    )
