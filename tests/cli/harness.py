"""What the CLI tests share: the tiny input files and a `relief` bound to one database.

`Relief` wraps `CliRunner.invoke` so that every command gets `--db URL` appended, and
reads the ledger back the way a keeper would (`stock balance --json`). The `ledger`
fixture is an upgraded database with a tiny catalogue and depot network imported:

items   WATER  shelf life 730 days, rotation lead 60 days (so it needs an expiry)
        TENT   durable (no shelf life, no expiry)
depots  PROV (province) <- CNTY (county) <- TWN (township)
"""

import json
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from api.cli.main import app

ITEMS_CSV = """\
code,name_zh,name_en,category,unit,unit_weight_kg,unit_volume_m3,shelf_life_days,rotation_lead_days
WATER,饮用水,Drinking water,food_water,case,13.8,0.022,730,60
TENT,帐篷,Relief tent,shelter,set,42.0,0.2,,0
"""

DEPOTS_CSV = """\
code,name,tier,parent_code,lat,lon,capacity_m3
PROV,Province depot,province,,41.79,123.43,40000
CNTY,County depot,county,PROV,40.85,122.75,4800
TWN,Township depot,township,CNTY,40.58,122.97,200
"""

#: Columns of `relief stock import` files, in the order the tests write them.
MOVEMENT_HEADER = "reference,occurred_at,kind,depot,item,lot,qty,expires_on,produced_on,to_depot"

_POSTED = re.compile(r"posted ([A-Z]{2}-\d{6})")


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """A workbook whose first sheet holds `rows` (None: a blank cell)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


class Relief:
    """The `relief` command bound to one database URL."""

    def __init__(self, runner: CliRunner, url: str, db_file: Path) -> None:
        self.runner = runner
        self.url = url
        self.db_file = db_file

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(app, [*args, "--db", self.url])

    def ok(self, *args: str) -> Result:
        """Run a command that must succeed; show its output if it does not."""
        result = self(*args)
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def post(self, *args: str) -> str:
        """Run a posting command and return the document number it printed."""
        result = self.ok(*args)
        match = _POSTED.search(result.stdout)
        assert match, result.stdout
        return match.group(1)

    def balances(self, *args: str) -> list[dict[str, Any]]:
        """`stock balance --json`, parsed."""
        result = self.ok("stock", "balance", "--json", *args)
        return json.loads(result.stdout)

    def on_hand(self) -> dict[tuple[str, str, str], int]:
        """{(depot, item, lot): on_hand} for every depot balance row."""
        return {(r["depot"], r["item"], r["lot"]): r["on_hand"] for r in self.balances()}


def movements_csv(path: Path, rows: Sequence[str]) -> Path:
    """A movements file: the header, then the given rows (line 2 is rows[0])."""
    return write_csv(path, "\n".join([MOVEMENT_HEADER, *rows]) + "\n")


def query(db_file: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the SQLite file directly (for what no `relief` command shows)."""
    conn = sqlite3.connect(db_file)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
