"""The reserve catalogue: item categories and items."""

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api.http.deps import CatalogueEditor, Reader, ReadSession, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import AUTH_PROBLEMS, WRITE_PROBLEMS
from supply.models import ItemCreate, ItemRead
from supply.services import catalogue
from supply.services.lookup import item_by_code

router = APIRouter(tags=["catalogue 储备目录"])


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name_zh: str
    name_en: str


class Upserted(BaseModel):
    """What a create-or-update did: `created` false means an existing row was updated."""

    code: str
    created: bool


@router.get("/categories", responses=AUTH_PROBLEMS)
def list_categories(_user: Reader, session: ReadSession) -> list[CategoryRead]:
    return [CategoryRead.model_validate(c) for c in catalogue.list_categories(session)]


@router.get("/items", responses=AUTH_PROBLEMS)
def list_items(
    _user: Reader, session: ReadSession, limit: Limit = 100, cursor: Cursor = None
) -> Page[ItemRead]:
    rows, next_cursor = paginate(
        catalogue.list_items(session), key=lambda i: (i.code,), limit=limit, cursor=cursor
    )
    return Page(items=[ItemRead.model_validate(i) for i in rows], next_cursor=next_cursor)


@router.get("/items/{code}", responses={**AUTH_PROBLEMS, **WRITE_PROBLEMS})
def get_item(_user: Reader, session: ReadSession, code: str = Path(max_length=64)) -> ItemRead:
    return ItemRead.model_validate(item_by_code(session, code))


@router.post("/items", status_code=201, response_model=Upserted, responses=WRITE_PROBLEMS)
def put_item(
    body: ItemCreate, _user: CatalogueEditor, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Create an item, or update the item of that code (201 either way; see `created`)."""

    def upsert() -> Upserted:
        created, _updated = catalogue.upsert_items(session, [body])
        return Upserted(code=body.code, created=bool(created))

    return idem.run(session, upsert)
