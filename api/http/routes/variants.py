"""Scenario variants (情景变体): the chosen scenario with uploaded shelters and road closures
(an .xlsx workbook), or with roads closed on the map, to plan again with `POST /plans`.

Planners and dispatchers (and admins) make them; a variant is a scenario like the others
(listed by `GET /scenarios`, drawn by its layers) under the name the answer gives.
"""

import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Planner, StateDep, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.problems import WRITE_PROBLEMS
from supply.errors import InvalidInput
from supply.services import scenario_variants
from supply.services.scenario_variants import MAX_CLOSURES

router = APIRouter(prefix="/scenarios", tags=["scenarios 情景"])

Name = Annotated[str, Path(max_length=64, examples=["haicheng-earthquake"])]
#: The largest workbook taken (a province's 3,000 shelters are some 200 kB).
MAX_UPLOAD_BYTES = 20 << 20


class VariantRead(BaseModel):
    """The variant's scenario name (what `POST /plans` takes) and what it changed."""

    model_config = ConfigDict(from_attributes=True)

    name: str = Field(examples=["haicheng-earthquake--3f2a9c01bd"])
    base: str
    title_zh: str
    title_en: str
    shelters: int
    residents: int
    changed_roads: int
    created: bool = Field(description="False when the same variant had been made before.")


class ClosureCreate(BaseModel):
    """Roads to close, by their number in the scenario's road layer (`road:12` is 12)."""

    model_config = ConfigDict(extra="forbid")

    roads: list[Annotated[int, Field(ge=1, le=10**7)]] = Field(
        min_length=1, max_length=MAX_CLOSURES, examples=[[12, 13]]
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FileName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        description="The workbook's file name, as errors should name it.",
    ),
]


async def _workbook_bytes(request: Request) -> bytes:
    """The request's body: the workbook itself, not a multipart form (the Idempotency-Key's
    fingerprint reads the body first, and a form cannot be read after it)."""
    return await request.body()


WorkbookBytes = Annotated[bytes, Depends(_workbook_bytes)]
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "An .xlsx workbook: a `shelters` (安置点) sheet with code, name, lat, "
        "lon, residents replaces the scenario's shelters; a `closures` (道路中断) sheet with "
        "from, to (node ids) and optional status (closed, open, damaged:F) changes its "
        "roads. Errors name the file, sheet, row, column and reason (422).",
        # Any content type is read as the workbook's bytes (browsers send the .xlsx type).
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/{name}/variants",
    status_code=201,
    response_model=VariantRead,
    responses=WRITE_PROBLEMS,
    openapi_extra=UPLOAD_BODY,
)
def upload_variant(
    name: Name,
    data: WorkbookBytes,
    _user: Planner,
    session: WriteSession,
    idem: IdempotentDep,
    state: StateDep,
    filename: FileName = "upload.xlsx",
) -> JSONResponse:
    """Make a variant of scenario `name` from a workbook sent as the body (201)."""
    label = FilePath(filename).name or "upload.xlsx"

    def make() -> VariantRead:
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInput("file", f"{label} is larger than {MAX_UPLOAD_BYTES >> 20} MB")
        with tempfile.TemporaryDirectory(prefix="relief-upload-") as tmp:
            path = FilePath(tmp) / "upload.xlsx"
            path.write_bytes(data)
            return VariantRead.model_validate(
                scenario_variants.variant_from_workbook(
                    state.runner.scenarios_root, name, path, filename=label
                )
            )

    return idem.run(session, make)


@router.post(
    "/{name}/closures", status_code=201, response_model=VariantRead, responses=WRITE_PROBLEMS
)
def close_roads(
    name: Name,
    body: ClosureCreate,
    _user: Planner,
    session: WriteSession,
    idem: IdempotentDep,
    state: StateDep,
) -> JSONResponse:
    """Make a variant of scenario `name` with these roads closed (201); plan it next."""
    return idem.run(
        session,
        lambda: VariantRead.model_validate(
            scenario_variants.close_roads(state.runner.scenarios_root, name, body.roads)
        ),
    )
