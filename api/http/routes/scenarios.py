"""Disaster scenarios (灾害情景) the server can plan: list them, and show one.

The scenarios are folders under the server's scenarios directory (RELIEF_SCENARIOS_DIR, the
bundled ones by default); a folder is read by the scenario loader, which names the first
bad place of a broken one (422).
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.http.deps import Reader, StateDep
from api.http.problems import problem_responses
from supply.services.plan_jobs import scenario_folder

router = APIRouter(prefix="/scenarios", tags=["scenarios 情景"])

Name = Annotated[str, Path(max_length=64, examples=["haicheng-earthquake"])]


class ScenarioRead(BaseModel):
    name: str = Field(description="The folder's name: what `POST /plans` takes.")
    title_zh: str
    title_en: str
    disaster: str
    disaster_time: datetime
    deadline_hours: float


class ScenarioDetail(ScenarioRead):
    description: str
    shelters: int
    residents: int
    depots: int
    items: int
    vehicles: int
    roads: int


@router.get("", responses=problem_responses(401, 403))
def list_scenarios(_user: Reader, state: StateDep) -> list[ScenarioRead]:
    """Every scenario folder of the server, by name (a folder whose `scenario.yaml` does
    not read is left out: planning it would name why)."""
    from scenarios.scenario import ScenarioError, load_meta

    root = state.runner.scenarios_root
    found: list[ScenarioRead] = []
    for folder in sorted(p for p in root.iterdir() if (p / "scenario.yaml").is_file()):
        try:
            meta = load_meta(folder)
        except ScenarioError:
            continue
        found.append(
            ScenarioRead(
                name=folder.name,
                title_zh=meta.title_zh,
                title_en=meta.title_en,
                disaster=meta.disaster.kind,
                disaster_time=meta.disaster.time,
                deadline_hours=meta.deadline_hours,
            )
        )
    return found


@router.get("/{name}", responses=problem_responses(401, 403, 404, 422))
def show_scenario(_user: Reader, state: StateDep, name: Name) -> ScenarioDetail:
    """One scenario: its disaster and what it holds (shelters, residents, depots...)."""
    from scenarios.scenario import load_scenario

    meta, problem = load_scenario(scenario_folder(state.runner.scenarios_root, name))
    return ScenarioDetail(
        name=name,
        title_zh=meta.title_zh,
        title_en=meta.title_en,
        disaster=meta.disaster.kind,
        disaster_time=meta.disaster.time,
        deadline_hours=meta.deadline_hours,
        description=meta.description,
        shelters=len(problem.shelters),
        residents=sum(s.residents for s in problem.shelters),
        depots=len(problem.depots),
        items=len(problem.items),
        vehicles=sum(v.count for v in problem.fleet),
        roads=len(problem.roads),
    )
