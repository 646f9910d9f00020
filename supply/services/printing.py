"""Printed paper: any posted ledger document as an A4 page, and a plan's receipt slips.

Keepers file paper with signatures: 入库单 (receipt), 出库单 (issue), 调拨单 (transfer),
盘点表 (stocktake, with the count sheet and its reasons), 轮换记录 (rotation), 核销单
(write-off), 冲销单 (reversal); and a shelter signs a 签收单 (receipt slip) for each stop of
a plan. Each page carries the ledger's number (also as a QR code), the date, the depots,
the lines (item, lot, expiry, quantity, unit), totals per unit and signature lines. The
HTML is rendered by Jinja2 with autoescaping (codes and notes are the keepers' text) and
prints to PDF from any browser. Chinese by default, English with `lang="en"`.
"""

import base64
import functools
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from supply.errors import InvalidInput
from supply.models import (
    Batch,
    CountLine,
    DispatchLoad,
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    Location,
    LocationKind,
    Movement,
)
from supply.services.stock import document_by_number

LANGS = ("zh", "en")

#: Title of each document kind, Chinese and English.
TITLES: dict[str, tuple[str, str]] = {
    DocumentKind.RECEIPT: ("入库单", "Goods receipt"),
    DocumentKind.ISSUE: ("出库单", "Goods issue"),
    DocumentKind.RESERVATION_ISSUE: ("出库单", "Goods issue"),
    DocumentKind.TRANSFER: ("调拨单", "Transfer"),
    DocumentKind.TRANSFER_DISPATCH: ("调拨单（发出）", "Transfer (dispatched)"),
    DocumentKind.TRANSFER_ARRIVAL: ("调拨单（到达）", "Transfer (arrived)"),
    DocumentKind.STOCKTAKE: ("盘点表", "Stocktake"),
    DocumentKind.ROTATION: ("轮换记录", "Rotation record"),
    DocumentKind.WRITE_OFF: ("核销单", "Write-off"),
    DocumentKind.REVERSAL: ("冲销单", "Reversal"),
    DocumentKind.AID_LOAN: ("借调单", "Mutual-aid loan"),
    DocumentKind.AID_RETURN: ("借调归还单", "Mutual-aid return"),
    DocumentKind.AID_SETTLEMENT: ("借调结算单", "Mutual-aid settlement"),
}

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "number": "单号",
        "date": "日期",
        "depot": "储备库",
        "from": "调出",
        "to": "调入",
        "reference": "参考号",
        "note": "备注",
        "reason": "原因",
        "reverses": "冲销原单",
        "item": "物资",
        "lot": "批号",
        "expires": "有效期至",
        "direction": "出/入",
        "in": "入",
        "out": "出",
        "qty": "数量",
        "unit": "单位",
        "on_hand": "账面数",
        "counted": "实盘数",
        "difference": "差异",
        "note_line": "说明",
        "total": "合计",
        "handled_by": "经办人",
        "checked_by": "审核人",
        "received_by": "接收人",
        "signed_by": "签收人（安置点）",
        "driver": "驾驶员",
        "time": "签收时间",
        "plan": "调度方案",
        "vehicle": "车辆",
        "trip": "趟次",
        "stop": "站点",
        "shelter": "安置点",
        "slip": "签收单",
        "arrival": "计划到达（灾后小时）",
    },
    "en": {
        "number": "Number",
        "date": "Date",
        "depot": "Depot",
        "from": "From",
        "to": "To",
        "reference": "Reference",
        "note": "Note",
        "reason": "Reason",
        "reverses": "Reverses",
        "item": "Item",
        "lot": "Lot",
        "expires": "Expires",
        "direction": "In/out",
        "in": "in",
        "out": "out",
        "qty": "Quantity",
        "unit": "Unit",
        "on_hand": "Book",
        "counted": "Counted",
        "difference": "Difference",
        "note_line": "Note",
        "total": "Total",
        "handled_by": "Handled by",
        "checked_by": "Checked by",
        "received_by": "Received by",
        "signed_by": "Received by (shelter)",
        "driver": "Driver",
        "time": "Time received",
        "plan": "Plan",
        "vehicle": "Vehicle",
        "trip": "Trip",
        "stop": "Stop",
        "shelter": "Shelter",
        "slip": "Receipt slip",
        "arrival": "Planned arrival (h after the disaster)",
    },
}

COUNT_REASONS: dict[str, tuple[str, str]] = {
    "damaged": ("损坏", "damaged"),
    "lost": ("丢失", "lost"),
    "found": ("盘盈", "found"),
    "mis_picked": ("错发", "mis-picked"),
    "other": ("其他", "other"),
}


@dataclass(frozen=True, slots=True)
class PrintLine:
    """One line of a printed document: `qty` is always positive, `direction` says in or out
    of the depot; a stocktake line also has its count."""

    item: str
    item_name: str
    lot: str
    expires_on: date | None
    qty: int
    unit: str
    direction: str = ""  # "in" or "out" (of the depot)
    depot: str = ""
    on_hand: int | None = None
    counted: int | None = None
    reason: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PrintedDocument:
    """What a printed ledger document shows, read from the ledger."""

    number: str
    kind: str
    status: str
    occurred_at: datetime
    depots: tuple[str, ...]  # "CODE name", in the order stock moved (from, to)
    reference: str | None
    note: str | None
    reason: str | None
    reverses: str | None
    actor: str
    lines: tuple[PrintLine, ...]
    #: Units into and out of the depots, per unit of measure (a transfer has both).
    totals_in: dict[str, int] = field(default_factory=dict)
    totals_out: dict[str, int] = field(default_factory=dict)


def printed_document(session: Session, number: str) -> PrintedDocument:
    """A posted (or since reversed) document as it is printed.

    Raises
    ------
    NotFound
        No document has that number.
    InvalidInput
        The document is a draft: only posted documents are printed.
    """
    doc = document_by_number(session, number)
    if doc.status == DocumentStatus.DRAFT:
        raise InvalidInput("document", f"{number} is a draft; only posted documents print")
    rows = session.execute(
        select(Movement, Location, Item, Batch)
        .join(Location, col(Location.id) == col(Movement.location_id))
        .join(Item, col(Item.id) == col(Movement.item_id))
        .join(Batch, col(Batch.id) == col(Movement.batch_id))
        .where(col(Movement.document_id) == doc.id)
        .order_by(col(Movement.id))
    ).all()
    # The lines a keeper signs for are the depots'; a delivery from a truck (in transit to a
    # shelter) has none, so it shows the truck's.
    kinds = {loc.kind for _, loc, _, _ in rows}
    shown_kind = LocationKind.DEPOT if LocationKind.DEPOT in kinds else LocationKind.IN_TRANSIT
    depots: list[str] = []
    lines: list[PrintLine] = []
    for _m, loc, _item, _batch in sorted(rows, key=lambda r: (r[0].qty > 0, r[0].id)):
        if loc.kind != shown_kind:
            continue
        shown = f"{loc.code} {loc.name}"
        if shown not in depots:
            depots.append(shown)
    counts = {
        (c.item_id, c.batch_id): c
        for c in session.scalars(select(CountLine).where(col(CountLine.document_id) == doc.id))
    }
    for m, loc, item, batch in rows:
        if loc.kind != shown_kind:
            continue
        count = (
            counts.pop((item.id, batch.id), None) if doc.kind == DocumentKind.STOCKTAKE else None
        )
        lines.append(
            PrintLine(
                item=item.code,
                item_name=item.name_zh,
                lot=batch.lot,
                expires_on=batch.expires_on,
                qty=abs(m.qty),
                unit=item.unit,
                direction="in" if m.qty > 0 else "out",
                depot=loc.code,
                on_hand=count.on_hand if count else None,
                counted=count.counted if count else None,
                reason=count.reason if count else None,
                note=count.note if count else None,
            )
        )
    if doc.kind == DocumentKind.STOCKTAKE and counts:  # counted lots that matched the book
        extra = session.execute(
            select(CountLine, Item, Batch)
            .join(Item, col(Item.id) == col(CountLine.item_id))
            .join(Batch, col(Batch.id) == col(CountLine.batch_id))
            .where(col(CountLine.id).in_([c.id for c in counts.values()]))
            .order_by(col(CountLine.id))
        ).all()
        for c, item, batch in extra:
            lines.append(
                PrintLine(
                    item=item.code,
                    item_name=item.name_zh,
                    lot=batch.lot,
                    expires_on=batch.expires_on,
                    qty=0,
                    unit=item.unit,
                    on_hand=c.on_hand,
                    counted=c.counted,
                    reason=c.reason,
                    note=c.note,
                )
            )
    totals_in: dict[str, int] = defaultdict(int)
    totals_out: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.direction == "in":
            totals_in[line.unit] += line.qty
        elif line.direction == "out":
            totals_out[line.unit] += line.qty
    reverses = session.get(Document, doc.reverses_id) if doc.reverses_id else None
    return PrintedDocument(
        number=doc.number,
        kind=doc.kind,
        status=doc.status,
        occurred_at=doc.occurred_at,
        depots=tuple(depots),
        reference=doc.reference,
        note=doc.note,
        reason=doc.reason,
        reverses=reverses.number if reverses else None,
        actor=doc.actor,
        lines=tuple(lines),
        totals_in=dict(totals_in),
        totals_out=dict(totals_out),
    )


@dataclass(frozen=True, slots=True)
class Slip:
    """One stop of a plan: what the shelter signs for."""

    plan: str
    vehicle: str
    trip: int
    stop: int
    shelter: str
    depot: str
    arrival_hours: float | None
    lines: tuple[PrintLine, ...]
    totals: dict[str, int]


def receipt_slips(session: Session, plan: str) -> list[Slip]:
    """A 签收单 for every stop of a routed plan, by vehicle and stop."""
    from supply.services.dispatch import plan_by_ref

    p = plan_by_ref(session, plan)
    rows = session.execute(
        select(DispatchLoad, col(Location.code), Item, Batch)
        .join(Location, col(Location.id) == col(DispatchLoad.depot_id))
        .join(Item, col(Item.id) == col(DispatchLoad.item_id))
        .join(Batch, col(Batch.id) == col(DispatchLoad.batch_id))
        .where(col(DispatchLoad.plan_id) == p.id, col(DispatchLoad.vehicle).is_not(None))
        .order_by(col(DispatchLoad.vehicle), col(DispatchLoad.stop), col(DispatchLoad.id))
    ).all()
    if not rows:
        raise InvalidInput("plan", f"plan {p.number} has no routed stops to sign for")
    stops: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for load, depot, item, batch in rows:
        stops[(load.vehicle, load.stop)].append((load, depot, item, batch))
    slips: list[Slip] = []
    for (vehicle, stop), loads in stops.items():
        first = loads[0][0]
        totals: dict[str, int] = defaultdict(int)
        lines = []
        for load, _depot, item, batch in loads:
            lines.append(
                PrintLine(item.code, item.name_zh, batch.lot, batch.expires_on, load.qty, item.unit)
            )
            totals[item.unit] += load.qty
        slips.append(
            Slip(
                plan=p.number,
                vehicle=vehicle,
                trip=first.trip or 0,
                stop=stop,
                shelter=first.shelter,
                depot=loads[0][1],
                arrival_hours=first.arrival_hours,
                lines=tuple(lines),
                totals=dict(totals),
            )
        )
    return slips


# ---------------------------------------------------------------------------- HTML


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("supply", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _qr(text: str) -> Any:
    """The QR code of a document number as inline SVG (safe: segno's own markup)."""
    import segno
    from markupsafe import Markup

    return Markup(segno.make(text, error="m").svg_inline(scale=3))


@functools.cache
def page_style_source() -> str:
    """The CSP source allowing the one inline stylesheet every printed page carries
    (`'sha256-…'`): a console that opens a printed page under its own strict policy, or a
    server answering with one, allows exactly that style and no other inline code."""
    css = _environment().get_template("_page.css").render()
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _check(lang: str) -> None:
    if lang not in LANGS:
        raise InvalidInput("lang", f"use zh or en, not {lang!r}")


def document_html(document: PrintedDocument, *, lang: str = "zh") -> str:
    """The A4 page of a ledger document."""
    _check(lang)
    zh, en = TITLES.get(document.kind, (document.kind, document.kind))
    return (
        _environment()
        .get_template("document.html.j2")
        .render(
            doc=document,
            lang=lang,
            t=LABELS[lang],
            title=zh if lang == "zh" else en,
            subtitle=en if lang == "zh" else zh,
            qr=_qr(document.number),
            reasons={k: v[0 if lang == "zh" else 1] for k, v in COUNT_REASONS.items()},
            stocktake=document.kind == DocumentKind.STOCKTAKE,
            local=document.occurred_at.astimezone(),
        )
    )


def slips_html(slips: list[Slip], *, lang: str = "zh") -> str:
    """One A4 page per stop: the receipt slips of a plan."""
    _check(lang)
    return (
        _environment()
        .get_template("slips.html.j2")
        .render(
            slips=slips,
            lang=lang,
            t=LABELS[lang],
            qrs={(s.vehicle, s.stop): _qr(f"{s.plan} {s.vehicle} {s.stop}") for s in slips},
        )
    )
