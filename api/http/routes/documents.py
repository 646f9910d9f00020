"""Keepers' stock documents: receive, issue, transfer, count, reverse; read one back and
print it.

Each POST wraps one service of `supply.services.stock` (or `reversal`), recording the
logged-in user as the document's actor and the request's `Idempotency-Key` as the
ledger's idempotency key, after `supply.services.jurisdictions` has checked that the user's
jurisdiction owns the depots it posts at (403 otherwise).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.http.deps import Keeper, Reader, ReadSession, WriteSession
from api.http.idempotency import IdempotentDep
from api.http.problems import WRITE_PROBLEMS, problem_responses
from supply.ledger import Posted
from supply.models import CountReason, Funding, User
from supply.services import reversal, stock
from supply.services.jurisdictions import (
    check_depots,
    check_document,
    check_document_visible,
    releasable_owners,
)
from supply.services.printing import document_html, page_style_source, printed_document
from supply.services.stock import Count, Meta

router = APIRouter(prefix="/documents", tags=["documents 单据"])

Number = Annotated[str, Path(max_length=32, examples=["IS-000042"])]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Qty = Annotated[int, Field(gt=0, le=10**12, description="Units of the item's unit.")]


class _Common(BaseModel):
    """What every document may carry besides its lines."""

    model_config = ConfigDict(extra="forbid")

    reference: str | None = Field(default=None, max_length=100, examples=["PO-2026-118"])
    note: str | None = Field(default=None, max_length=2000)
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened, if not now (with a time zone)."
    )


class ReceiptCreate(_Common):
    """Goods arriving from outside (purchase, donation, agreement delivery): 入库."""

    depot: Code = Field(examples=["HC-COUNTY"])
    item: Code = Field(examples=["WATER"])
    qty: Qty = Field(examples=[100])
    lot: Code = Field(examples=["W2026-07"])
    expires_on: date | None = None
    produced_on: date | None = None
    supplier: str | None = Field(default=None, max_length=200)
    unit_cost: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)
    owner: str | None = Field(
        default=None,
        max_length=12,
        examples=["210381"],
        description="The owning jurisdiction's code (default: the depot's), for a new lot.",
    )
    donor: str | None = Field(
        default=None, max_length=200, description="A donor owning the lot, instead of `owner`."
    )
    funding: Funding | None = Field(
        default=None, description="Who paid: `fiscal` by default, `donation` for a donor."
    )


class IssueCreate(_Common):
    """Stock handed out to relief: 出库. Without `lot`, first expiry first out."""

    depot: Code = Field(examples=["HC-COUNTY"])
    item: Code = Field(examples=["WATER"])
    qty: Qty = Field(examples=[30])
    lot: Code | None = None


class TransferCreate(_Common):
    """Stock moved between depots: 调拨; `in_transit` until it arrives."""

    source: Code = Field(examples=["HC-CITY"])
    destination: Code = Field(examples=["HC-COUNTY"])
    item: Code
    qty: Qty
    lot: Code | None = None
    in_transit: bool = False


class CountLineCreate(BaseModel):
    """One counted lot, and why it differs from the ledger (if it does)."""

    model_config = ConfigDict(extra="forbid")

    item: Code = Field(examples=["WATER"])
    lot: Code = Field(examples=["W2026-07"])
    counted: int = Field(ge=0, le=10**12, examples=[95])
    reason: CountReason | None = None
    note: str | None = Field(default=None, max_length=2000)


class StocktakeCreate(_Common):
    """A count at one depot (盘点): the counted quantities replace the ledger's for the lots
    listed; lots not listed are left as they are."""

    depot: Code = Field(examples=["HC-COUNTY"])
    lines: list[CountLineCreate] = Field(min_length=1, max_length=1000)


class ReversalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000, examples=["entered twice"])


class PostedRead(BaseModel):
    """A posted document; `replayed` when the ledger already held it under the same key."""

    number: str = Field(examples=["IS-000042"])
    kind: str
    replayed: bool
    href: str = Field(examples=["/documents/IS-000042"])

    @classmethod
    def of(cls, posted: Posted) -> "PostedRead":
        return cls(
            number=posted.number,
            kind=posted.kind,
            replayed=posted.replayed,
            href=f"/documents/{posted.number}",
        )


class CountedRead(BaseModel):
    """A count's answer: the stocktake posted, or no number when every count matched."""

    number: str | None = Field(examples=["ST-000007"])
    replayed: bool
    href: str | None = Field(examples=["/documents/ST-000007"])


class LineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    depot: str
    direction: str = Field(description="`in` to or `out` of the depot.")
    item: str
    item_name: str
    lot: str
    expires_on: date | None
    qty: int
    unit: str


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: str
    kind: str
    status: str
    occurred_at: datetime
    actor: str
    depots: tuple[str, ...]
    reference: str | None
    note: str | None
    reverses: str | None
    lines: list[LineRead]


def _meta(user: User, body: _Common | ReversalCreate, key: str | None) -> Meta:
    return Meta(
        actor=user.username,
        occurred_at=getattr(body, "occurred_at", None),
        reference=getattr(body, "reference", None),
        note=body.note,
        idempotency_key=key,
    )


@router.get("/{number}", responses=problem_responses(401, 403, 404, 422))
def get_document(user: Reader, session: ReadSession, number: Number) -> DocumentRead:
    """A posted (or since reversed) document with its lines at depots; a document only at
    depots the user may not see (another jurisdiction's, not shared) is a 403."""
    check_document_visible(session, user, number)
    return DocumentRead.model_validate(printed_document(session, number))


#: A printed page holds no script and loads nothing: only its own inline stylesheet.
_PRINT_CSP = "default-src 'none'; style-src {style}; img-src data:"


@router.get(
    "/{number}/print",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The A4 page, for a browser to print."},
        **problem_responses(401, 403, 404, 422),
    },
)
def print_document(
    user: Reader,
    session: ReadSession,
    number: Number,
    lang: Annotated[Literal["zh", "en"], Query(description="The page's language.")] = "zh",
) -> HTMLResponse:
    """The posted document as the paper a keeper signs (as `relief docs print`): lines,
    totals, signature lines and its number as a QR code."""
    check_document_visible(session, user, number)
    page = document_html(printed_document(session, number), lang=lang)
    return HTMLResponse(
        page, headers={"Content-Security-Policy": _PRINT_CSP.format(style=page_style_source())}
    )


@router.post("/receipts", status_code=201, response_model=PostedRead, responses=WRITE_PROBLEMS)
def receive(
    body: ReceiptCreate, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    def post() -> PostedRead:
        check_depots(session, user, [body.depot])
        return PostedRead.of(
            stock.receive(
                session,
                depot=body.depot,
                item=body.item,
                qty=body.qty,
                lot=body.lot,
                expires_on=body.expires_on,
                produced_on=body.produced_on,
                supplier=body.supplier,
                unit_cost=body.unit_cost,
                owner=body.owner,
                donor=body.donor,
                funding=body.funding,
                meta=_meta(user, body, idem.key),
            )
        )

    return idem.run(session, post)


@router.post("/issues", status_code=201, response_model=PostedRead, responses=WRITE_PROBLEMS)
def issue(
    body: IssueCreate, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Refused whole (409, with `available` and `requested`) beyond available stock; a lot
    of another owner's is refused (403): only its owner's people release it."""

    def post() -> PostedRead:
        check_depots(session, user, [body.depot])
        return PostedRead.of(
            stock.issue(
                session,
                depot=body.depot,
                item=body.item,
                qty=body.qty,
                lot=body.lot,
                owners=releasable_owners(session, user),
                meta=_meta(user, body, idem.key),
            )
        )

    return idem.run(session, post)


@router.post("/transfers", status_code=201, response_model=PostedRead, responses=WRITE_PROBLEMS)
def transfer(
    body: TransferCreate, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    def post() -> PostedRead:
        check_depots(session, user, [body.source])
        return PostedRead.of(
            stock.transfer(
                session,
                source=body.source,
                destination=body.destination,
                item=body.item,
                qty=body.qty,
                lot=body.lot,
                in_transit=body.in_transit,
                owners=releasable_owners(session, user),
                meta=_meta(user, body, idem.key),
            )
        )

    return idem.run(session, post)


@router.post(
    "/stocktakes",
    status_code=201,
    response_model=CountedRead,
    responses=WRITE_PROBLEMS,
)
def count(
    body: StocktakeCreate, user: Keeper, session: WriteSession, idem: IdempotentDep
) -> JSONResponse:
    """Post a count (as `relief stock count`): the differences move to or from the
    stocktake adjustment, the whole sheet is kept for the printed 盘点表. A count below what
    is reserved is refused (409); a lot counted twice is a 422."""

    def post() -> CountedRead:
        check_depots(session, user, [body.depot])
        posted = stock.stocktake(
            session,
            depot=body.depot,
            counts=[Count(c.item, c.lot, c.counted, c.reason, c.note) for c in body.lines],
            meta=_meta(user, body, idem.key),
        )
        if posted is None:
            return CountedRead(number=None, replayed=False, href=None)
        return CountedRead(
            number=posted.number, replayed=posted.replayed, href=f"/documents/{posted.number}"
        )

    return idem.run(session, post)


@router.post(
    "/{number}/reversal", status_code=201, response_model=PostedRead, responses=WRITE_PROBLEMS
)
def reverse(
    body: ReversalCreate,
    number: Number,
    user: Keeper,
    session: WriteSession,
    idem: IdempotentDep,
) -> JSONResponse:
    """Undo a posted document by its mirror image (refused if stock has moved on)."""

    def post() -> PostedRead:
        check_document(session, user, number)
        return PostedRead.of(reversal.reverse(session, number, meta=_meta(user, body, None)))

    return idem.run(session, post)
