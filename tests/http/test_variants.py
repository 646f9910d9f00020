"""Scenario variants over HTTP: shelters and road closures uploaded as .xlsx, or roads closed
by number, make a scenario that plans; a bad row is a 422 naming sheet, row and column."""

import io
import shutil
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from api.http.routes.variants import XLSX
from scenarios.scenario import load_scenario
from tests.http.conftest import DATA, Api, is_problem

ROOT = Path(__file__).resolve().parents[2]
HAICHENG = "haicheng-earthquake"


def scenarios_copy(api: Api, tmp_path: Path) -> Path:
    """The server's scenarios in a folder of the test's own (variants are written there):
    the tiny scenario and Haicheng (which has roads)."""
    root = tmp_path / "scenarios"
    root.mkdir()
    shutil.copytree(DATA / "tiny", root / "tiny")
    shutil.copytree(ROOT / "scenarios" / HAICHENG, root / HAICHENG)
    api.app.state.relief.runner.scenarios_root = root
    return root


def workbook(**sheets: list[list[Any]]) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SHELTERS = [
    ["code", "name", "lat", "lon", "residents"],
    ["NEW-1", "新安置点一", 40.08, 122.02, 300],
    ["NEW-2", "新安置点二", 40.02, 122.10, 120],
]


def _upload(api: Api, scenario: str, data: bytes, role: str = "dispatcher") -> Any:
    return api.client(role).post(
        f"/scenarios/{scenario}/variants",
        params={"filename": "变体.xlsx"},
        content=data,
        headers={"Content-Type": XLSX},
    )


def test_uploaded_shelters_make_a_variant_that_plans(api: Api, tmp_path: Path) -> None:
    """The shelters sheet replaces the tiny scenario's shelters; the same upload again
    finds the same variant; the variant is listed and a plan job of it is queued."""
    root = scenarios_copy(api, tmp_path)
    made = _upload(api, "tiny", workbook(shelters=SHELTERS))
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["base"], body["shelters"], body["residents"], body["created"]) == (
        "tiny",
        2,
        420,
        True,
    )
    _meta, problem = load_scenario(root / body["name"])
    assert [s.code for s in problem.shelters] == ["NEW-1", "NEW-2"]
    again = _upload(api, "tiny", workbook(shelters=SHELTERS))
    assert (again.json()["name"], again.json()["created"]) == (body["name"], False)
    listed = [s["name"] for s in api.client("auditor").get("/scenarios").json()]
    assert body["name"] in listed
    job = api.client("dispatcher").post(
        "/plans", json={"scenario": body["name"], "routes": False, "time_limit_s": 2}
    )
    assert job.status_code == 202, job.text


def test_bad_row_names_sheet_row_and_column_and_makes_nothing(api: Api, tmp_path: Path) -> None:
    """Negative residents on the sheet's row 3: 422 naming the file, sheet, row and
    column; no variant folder is left."""
    root = scenarios_copy(api, tmp_path)
    bad = [*SHELTERS[:2], ["NEW-2", "二", 40.0, 122.1, -5]]
    answer = _upload(api, "tiny", workbook(安置点=bad))
    assert is_problem(answer, 422)
    assert answer.json()["field"] == "变体.xlsx sheet 安置点:3: residents"
    assert "greater than or equal to 0" in answer.json()["detail"]
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [
        HAICHENG,
        "tiny",
    ]


def test_closures_sheet_closes_roads_and_refuses_unknown_road(api: Api, tmp_path: Path) -> None:
    """A closures sheet closes the road between two nodes; a pair that is no road is
    refused at its row."""
    root = scenarios_copy(api, tmp_path)
    _meta, problem = load_scenario(root / HAICHENG)
    road = next(r for r in problem.roads if r.status.value == "open")
    sheet = [["from", "to", "status"], [road.b, road.a, "closed"]]
    made = _upload(api, HAICHENG, workbook(closures=sheet))
    assert made.status_code == 201, made.text
    assert made.json()["changed_roads"] == 1
    _meta, varied = load_scenario(root / made.json()["name"])
    closed = [r for r in varied.roads if (r.a, r.b) == (road.a, road.b)]
    assert [r.status.value for r in closed] == ["closed"]
    nowhere = _upload(api, HAICHENG, workbook(closures=[["from", "to"], ["NOPE", road.a]]))
    assert is_problem(nowhere, 422)
    assert nowhere.json()["field"] == "变体.xlsx sheet closures:2: to"


def test_not_a_workbook_is_refused(api: Api, tmp_path: Path) -> None:
    scenarios_copy(api, tmp_path)
    assert is_problem(_upload(api, "tiny", b"code,lat\n"), 422)
    no_sheet = _upload(api, "tiny", workbook(other=[["a"]]))
    assert is_problem(no_sheet, 422)
    assert "no sheet named shelters" in no_sheet.json()["detail"]


def test_closing_roads_by_number_makes_a_variant(api: Api, tmp_path: Path) -> None:
    """Roads 1 and 2 of Haicheng closed: the variant has them closed and the rest as they
    were; a road number past the last is a 422 naming it; an auditor may not (403)."""
    root = scenarios_copy(api, tmp_path)
    _meta, problem = load_scenario(root / HAICHENG)
    planner = api.client("planner")
    made = planner.post(f"/scenarios/{HAICHENG}/closures", json={"roads": [1, 2]})
    assert made.status_code == 201, made.text
    _meta, varied = load_scenario(root / made.json()["name"])
    assert [r.status.value for r in varied.roads[:2]] == ["closed", "closed"]
    assert varied.roads[2:] == problem.roads[2:]
    past = planner.post(f"/scenarios/{HAICHENG}/closures", json={"roads": [len(problem.roads) + 1]})
    assert is_problem(past, 422)
    assert past.json()["field"] == "roads.0"
    auditor = api.client("auditor").post(f"/scenarios/{HAICHENG}/closures", json={"roads": [1]})
    assert is_problem(auditor, 403)
