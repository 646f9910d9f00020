"""The five-tier depot network, as a list and as a tree."""

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.http.deps import CatalogueEditor, Reader, ReadSession, WriteSession
from api.http.etags import IfMatch, check_if_match, tagged
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import AUTH_PROBLEMS, WRITE_PROBLEMS, problem_responses
from api.http.routes.catalogue import Upserted
from supply.errors import InvalidInput, NotFound
from supply.models import DepotCreate, Location, LocationRead
from supply.services import catalogue

router = APIRouter(prefix="/depots", tags=["depots 储备库"])


class DepotNode(BaseModel):
    """A depot and the depots under it."""

    code: str
    name: str
    tier: str | None
    active: bool
    children: list["DepotNode"] = Field(default_factory=list)


def _read(loc: Location, parent: str | None, custodian: str | None) -> LocationRead:
    return LocationRead(
        code=loc.code,
        name=loc.name,
        kind=loc.kind,
        tier=loc.tier,
        parent_code=parent,
        lat=loc.lat,
        lon=loc.lon,
        capacity_m3=loc.capacity_m3,
        active=loc.active,
        population_served=loc.population_served,
        custodian_code=custodian,
        loading_hours=loc.loading_hours,
    )


@router.get("", responses=AUTH_PROBLEMS)
def list_depots(
    _user: Reader, session: ReadSession, limit: Limit = 100, cursor: Cursor = None
) -> Page[LocationRead]:
    rows, next_cursor = paginate(
        catalogue.list_depots(session), key=lambda r: (r[0].code,), limit=limit, cursor=cursor
    )
    return Page(items=[_read(*r) for r in rows], next_cursor=next_cursor)


@router.get("/tree", responses=AUTH_PROBLEMS)
def depot_tree(_user: Reader, session: ReadSession) -> list[DepotNode]:
    """The depot network from its top depots down, each level by code."""
    rows = catalogue.list_depots(session)
    nodes = {
        loc.code: DepotNode(code=loc.code, name=loc.name, tier=loc.tier, active=loc.active)
        for loc, _parent, _custodian in rows
    }
    roots: list[DepotNode] = []
    for loc, parent, _custodian in rows:  # by code, so children come out by code
        (nodes[parent].children if parent in nodes else roots).append(nodes[loc.code])
    return roots


@router.post("", status_code=201, response_model=Upserted, responses=WRITE_PROBLEMS)
def put_depot(
    body: DepotCreate, _user: CatalogueEditor, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Create a depot, or update the depot of that code (see `created`)."""

    def upsert() -> Upserted:
        created, _updated = catalogue.upsert_depots(session, [body])
        return Upserted(code=body.code, created=bool(created))

    return idem.run(session, upsert)


def _one(session: Session, code: str) -> LocationRead:
    for loc, parent, custodian in catalogue.list_depots(session):
        if loc.code == code:
            return _read(loc, parent, custodian)
    raise NotFound("depot", code)


@router.get("/{code}", responses=problem_responses(401, 403, 404, 422))
def get_depot(
    _user: Reader, session: ReadSession, response: Response, code: str = Path(max_length=64)
) -> LocationRead:
    """One depot, with an `ETag` to send back as `If-Match` when replacing it."""
    found = _one(session, code)
    tagged(response, found)
    return found


@router.put("/{code}", responses=problem_responses(401, 403, 404, 412, 422, 428))
def replace_depot(
    body: DepotCreate,
    _user: CatalogueEditor,
    session: WriteSession,
    response: Response,
    if_match: IfMatch = None,
    code: str = Path(max_length=64),
) -> LocationRead:
    """Replace a depot's fields with the body's. Needs `If-Match` (428 without; 412 if it
    changed since read); `POST /depots` still upserts without one."""
    if body.code != code:
        raise InvalidInput("code", f"the body names depot {body.code}, the path {code}")
    check_if_match(if_match, _one(session, code))
    catalogue.upsert_depots(session, [body])
    changed = _one(session, code)
    tagged(response, changed)
    return changed
