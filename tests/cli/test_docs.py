"""`relief docs print`: every kind of ledger document prints in Chinese and English, and the
page's number, lines and totals are the ledger's; `relief docs slips`: one 签收单 a stop."""

import json
import sqlite3
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

from optimizer.plan_document import (
    LoadDoc,
    PlanDocument,
    RouteDoc,
    ShipmentDoc,
    StopDoc,
    TripDoc,
)
from tests.cli.harness import Relief, write_csv

EXPIRES = "2028-05-01"


class Page(HTMLParser):
    """The parts of a printed page a test checks: title, number, lines and totals."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict[str, str]] = []
        self.lines: list[dict[str, str]] = []
        self.totals: list[dict[str, str]] = []
        self.text: list[str] = []
        self.svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "section":
            self.sections.append(a)
        if tag == "svg":
            self.svg += 1
        if tag == "tr" and "line" in classes:
            self.lines.append(a)
        if tag == "tr" and "total" in classes:
            self.totals.append(a)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def ledger_lines(
    relief: Relief, number: str, kind: str = "depot"
) -> list[tuple[str, str, int, str]]:
    """(item, lot, units, in/out) of the document's movements at locations of `kind`."""
    with sqlite3.connect(relief.db_file) as conn:
        rows = conn.execute(
            "SELECT i.code, b.lot, m.qty FROM movement m JOIN document d ON d.id = m.document_id"
            " JOIN location l ON l.id = m.location_id JOIN item i ON i.id = m.item_id"
            " JOIN batch b ON b.id = m.batch_id WHERE d.number = ? AND l.kind = ?",
            (number, kind),
        ).fetchall()
    return sorted((i, lot, abs(q), "in" if q > 0 else "out") for i, lot, q in rows)


@pytest.fixture
def documents(ledger: Relief, tmp_path: Path) -> dict[str, str]:
    """One document of every kind: kind -> number."""
    out: dict[str, str] = {}
    out["receipt"] = ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "WATER", "--qty", "120",
        "--lot", "W1", "--expires", EXPIRES,
    )  # fmt: skip
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "10", "--lot", "T1"
    )
    out["issue"] = ledger.post(
        "stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "20"
    )
    out["transfer"] = ledger.post(
        "stock", "transfer", "--from", "CNTY", "--to", "TWN", "--item", "WATER", "--qty", "15"
    )
    out["transfer_dispatch"] = ledger.post(
        "stock", "transfer", "--from", "CNTY", "--to", "TWN", "--item", "TENT", "--qty", "2",
        "--in-transit",
    )  # fmt: skip
    out["transfer_arrival"] = ledger.post("stock", "arrive", out["transfer_dispatch"])
    counts = write_csv(
        tmp_path / "counts.csv",
        "item,lot,counted,reason,note\nWATER,W1,80,damaged,一箱破损\nTENT,T1,8,,\n",
    )
    out["stocktake"] = ledger.post("stock", "count", "--depot", "CNTY", str(counts))
    out["rotation"] = ledger.post(
        "rotation", "rotate", "--depot", "TWN", "--item", "WATER", "--lot", "W1",
        "--reason", "donated", "--new-lot", "W2", "--new-qty", "15", "--new-expires", "2029-01-01",
    )  # fmt: skip
    out["write_off"] = ledger.post(
        "stock", "write-off", "--depot", "CNTY", "--item", "WATER", "--lot", "W1",
        "--reason", "damaged", "--qty", "5",
    )  # fmt: skip
    out["reversal"] = ledger.post("stock", "reverse", out["issue"])
    return out


TITLES = {
    "receipt": ("入库单", "Goods receipt"),
    "issue": ("出库单", "Goods issue"),
    "transfer": ("调拨单", "Transfer"),
    "transfer_dispatch": ("调拨单（发出）", "Transfer (dispatched)"),
    "transfer_arrival": ("调拨单（到达）", "Transfer (arrived)"),
    "stocktake": ("盘点表", "Stocktake"),
    "rotation": ("轮换记录", "Rotation record"),
    "write_off": ("核销单", "Write-off"),
    "reversal": ("冲销单", "Reversal"),
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_document_kind_prints_with_the_ledgers_lines_and_totals(
    ledger: Relief, documents: dict[str, str], lang: str
) -> None:
    """Number, title, QR code, lines (item, lot, quantity, direction) and totals per unit
    and direction all agree with the ledger's movements; signature lines are there."""
    for kind, number in documents.items():
        html = ledger.ok("docs", "print", number, "--lang", lang).stdout
        page = parse(html)
        assert page.sections[0]["data-number"] == number
        assert page.sections[0]["data-kind"] == kind
        text = " ".join(page.text)
        assert TITLES[kind][0 if lang == "zh" else 1] in text
        assert page.svg == 1  # the QR code of the number
        signatures = ("经办人", "审核人", "接收人") if lang == "zh" else ("Handled by",)
        assert all(s in text for s in signatures)
        printed = sorted(
            (ln["data-item"], ln["data-lot"], int(ln["data-qty"]), ln["data-direction"])
            for ln in page.lines
            if ln["data-direction"]
        )
        assert printed == ledger_lines(ledger, number), kind
        totals: dict[tuple[str, str], int] = defaultdict(int)
        unit = {"WATER": "case", "TENT": "set"}
        for item, _lot, qty, direction in printed:
            totals[(direction, unit[item])] += qty
        assert {(t["data-direction"], t["data-unit"]): int(t["data-qty"]) for t in page.totals} == (
            dict(totals)
        )


def test_the_stocktake_prints_its_count_sheet_with_reasons(
    ledger: Relief, documents: dict[str, str]
) -> None:
    """The count sheet shows the reason and note a keeper gave for a difference, in the
    page's language."""
    html = ledger.ok("docs", "print", documents["stocktake"]).stdout
    text = " ".join(parse(html).text)
    assert "损坏" in text
    assert "一箱破损" in text
    english = " ".join(
        parse(ledger.ok("docs", "print", documents["stocktake"], "--lang", "en").stdout).text
    )
    assert "damaged" in english


def test_print_refuses_unknown_numbers_and_languages(ledger: Relief) -> None:
    """One line, exit 2."""
    result = ledger("docs", "print", "RC-999999")
    assert result.exit_code == 2
    assert "unknown document 'RC-999999'" in result.stderr
    result = ledger("docs", "print", "RC-999999", "--lang", "fr")
    assert result.exit_code == 2
    assert "use zh or en" in result.stderr


def test_codes_are_escaped_in_print(ledger: Relief, tmp_path: Path) -> None:
    """A note with markup is printed as text, never as markup."""
    number = ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "1", "--lot", "X1",
        "--note", "<script>alert(1)</script>",
    )  # fmt: skip
    html = ledger.ok("docs", "print", number).stdout
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_slips_print_one_page_a_stop_with_its_loads(ledger: Relief, tmp_path: Path) -> None:
    """A plan's 签收单: one page per vehicle stop, its loads and totals as approved."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "WATER", "--qty", "50",
        "--lot", "W1", "--expires", EXPIRES,
    )  # fmt: skip
    stops = [
        StopDoc(
            stop=n, shelter=shelter, arrival_hours=h, loads=[LoadDoc(item="WATER", lot="W1", qty=q)]
        )
        for n, shelter, h, q in ((1, "SH-A", 1.5, 30), (2, "SH-B", 2.0, 20))
    ]
    plan = PlanDocument(
        name="slips",
        shipments=[
            ShipmentDoc(
                source="CNTY",
                source_kind="depot",
                lot="W1",
                shelter=s.shelter,
                item="WATER",
                qty=s.loads[0].qty,
            )
            for s in stops
        ],
        routes=[
            RouteDoc(vehicle="CNTY/medium-1", depot="CNTY", trips=[TripDoc(trip=1, stops=stops)])
        ],
    ).to_json_dict()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    ledger.ok("dispatch", "approve", str(path))
    page = parse(ledger.ok("docs", "slips", "DP-000001").stdout)
    assert [(s["data-shelter"], s["data-stop"]) for s in page.sections] == [
        ("SH-A", "1"),
        ("SH-B", "2"),
    ]
    assert [int(ln["data-qty"]) for ln in page.lines] == [30, 20]
    assert "签收人（安置点）" in " ".join(page.text)

    # The delivery of a stop (from the truck, in transit, to the shelter) prints its lines.
    ledger.ok("dispatch", "depart", "DP-000001", "CNTY/medium-1", "1")
    delivered = ledger.post("dispatch", "deliver", "DP-000001", "CNTY/medium-1", "2")
    issue = parse(ledger.ok("docs", "print", delivered).stdout)
    printed = [
        (ln["data-item"], ln["data-lot"], int(ln["data-qty"]), ln["data-direction"])
        for ln in issue.lines
    ]
    assert printed == ledger_lines(ledger, delivered, "in_transit") == [("WATER", "W1", 20, "out")]
