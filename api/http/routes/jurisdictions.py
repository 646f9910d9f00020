"""Jurisdictions (行政区划): the tree, and which depots belong to each."""

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.http.deps import CatalogueEditor, Reader, ReadSession, WriteSession
from api.http.etags import IfMatch, check_if_match, tagged
from api.http.idempotency import IdempotentDep
from api.http.problems import AUTH_PROBLEMS, WRITE_PROBLEMS, problem_responses
from supply.models import Level
from supply.services import jurisdictions
from supply.services.jurisdictions import JurisdictionView

router = APIRouter(prefix="/jurisdictions", tags=["jurisdictions 行政区划"])


class JurisdictionCreate(BaseModel):
    code: str = Field(min_length=2, max_length=12, examples=["210381"])
    name: str = Field(min_length=1, max_length=200, examples=["海城市"])
    level: Level
    parent: str | None = Field(default=None, max_length=12, examples=["210300"])


class JurisdictionRead(BaseModel):
    code: str
    name: str
    level: Level
    parent: str | None
    shares_with_neighbours: bool = Field(
        default=False, description="Whether its neighbours' people see its depots' stock."
    )
    neighbours: list[str] = Field(default_factory=list, examples=[["210382"]])


class JurisdictionUpdate(BaseModel):
    """What may change of a jurisdiction: whether it shares its stock with neighbours."""

    model_config = ConfigDict(extra="forbid")

    shares_with_neighbours: bool


class NeighboursAdd(BaseModel):
    neighbours: list[str] = Field(min_length=1, max_length=100, examples=[["210382"]])


class NeighboursAdded(BaseModel):
    jurisdiction: str
    added: int = Field(description="Pairs that were not known before.")


class DepotsAssign(BaseModel):
    depots: list[str] = Field(min_length=1, max_length=1000, examples=[["HC-COUNTY"]])


class Assigned(BaseModel):
    jurisdiction: str
    depots: int


@router.get("", responses=AUTH_PROBLEMS)
def list_jurisdictions(_user: Reader, session: ReadSession) -> list[JurisdictionRead]:
    return [_read(v) for v in jurisdictions.jurisdiction_views(session)]


@router.post("", status_code=201, response_model=JurisdictionRead, responses=WRITE_PROBLEMS)
def add_jurisdiction(
    body: JurisdictionCreate, _user: CatalogueEditor, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    def add() -> JurisdictionRead:
        made = jurisdictions.add_jurisdiction(
            session, code=body.code, name=body.name, level=body.level, parent=body.parent
        )
        return JurisdictionRead(
            code=made.code, name=made.name, level=Level(made.level), parent=body.parent
        )

    return idem.run(session, add)


@router.post("/{code}/depots", status_code=200, response_model=Assigned, responses=WRITE_PROBLEMS)
def assign_depots(
    body: DepotsAssign,
    _user: CatalogueEditor,
    session: WriteSession,
    idem: IdempotentDep,
    code: str = Path(max_length=12),
) -> JSONResponse:
    """Make the depots belong to this jurisdiction (all, or none if one is unknown)."""

    def assign() -> Assigned:
        count = jurisdictions.assign_depots(session, code, body.depots)
        return Assigned(jurisdiction=code, depots=count)

    return idem.run(session, assign, status_code=200)


@router.post(
    "/{code}/neighbours", status_code=200, response_model=NeighboursAdded, responses=WRITE_PROBLEMS
)
def add_neighbours(
    body: NeighboursAdd,
    _user: CatalogueEditor,
    session: WriteSession,
    idem: IdempotentDep,
    code: str = Path(max_length=12),
) -> JSONResponse:
    """Record that this jurisdiction borders each named one (相邻; both ways)."""

    def add() -> NeighboursAdded:
        added = jurisdictions.add_neighbours(session, code, body.neighbours)
        return NeighboursAdded(jurisdiction=code, added=added)

    return idem.run(session, add, status_code=200)


def _view(session: Session, code: str) -> JurisdictionRead:
    return _read(jurisdictions.view_jurisdiction(session, code))


def _read(view: JurisdictionView) -> JurisdictionRead:
    return JurisdictionRead(
        code=view.code,
        name=view.name,
        level=Level(view.level),
        parent=view.parent,
        shares_with_neighbours=view.shares_with_neighbours,
        neighbours=list(view.neighbours),
    )


@router.get("/{code}", responses=problem_responses(401, 403, 404, 422))
def get_jurisdiction(
    _user: Reader, session: ReadSession, response: Response, code: str = Path(max_length=12)
) -> JurisdictionRead:
    """One jurisdiction, with an `ETag` to send back as `If-Match` when changing it."""
    found = _view(session, code)
    tagged(response, found)
    return found


@router.patch("/{code}", responses=problem_responses(401, 403, 404, 412, 422, 428))
def update_jurisdiction(
    body: JurisdictionUpdate,
    _user: CatalogueEditor,
    session: WriteSession,
    response: Response,
    if_match: IfMatch = None,
    code: str = Path(max_length=12),
) -> JurisdictionRead:
    """Share (or stop sharing) its depots' stock with its neighbours' people. Needs
    `If-Match` (428 without; 412 if it changed since read)."""
    check_if_match(if_match, _view(session, code))
    jurisdictions.set_sharing(session, code, body.shares_with_neighbours)
    changed = _view(session, code)
    tagged(response, changed)
    return changed
