"""`relief docs`: printable paper (A4 HTML; a browser prints it to PDF)."""

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import DbOption, console, fail, run
from supply.errors import SupplyError

app = typer.Typer(
    help="Printed documents: 入库单, 出库单, 调拨单, 盘点表, 轮换记录, 核销单 and 签收单.",
    no_args_is_help=True,
)

Lang = Annotated[str, typer.Option("--lang", help="zh (default) or en.")]
Out = Annotated[
    Path | None, typer.Option("--out", help="HTML file to write (default: standard output).")
]


def _emit(html: str, out: Path | None) -> None:
    if out is None:
        typer.echo(html, nl=False)
        return
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: {exc.strerror or exc}")
    console.print(f"wrote {out}", highlight=False)


def _lang(lang: str) -> str:
    from supply.services import printing

    if lang not in printing.LANGS:
        fail(f"--lang: use zh or en, not {lang!r}")
    return lang


@app.command("print")
def print_document(
    number: Annotated[str, typer.Argument(help="A posted document's number, e.g. RC-000001.")],
    lang: Lang = "zh",
    out: Out = None,
    db: DbOption = None,
) -> None:
    """Print a ledger document: number, date, depots, lines, totals, QR code, signatures."""
    from supply.services import printing

    lang = _lang(lang)
    doc = run(db, lambda s: printing.printed_document(s, number))
    try:
        html = printing.document_html(doc, lang=lang)
    except SupplyError as exc:
        fail(str(exc))
    _emit(html, out)


@app.command("slips")
def print_slips(
    plan: Annotated[str, typer.Argument(help="An approved plan's number, e.g. DP-000001.")],
    lang: Lang = "zh",
    out: Out = None,
    db: DbOption = None,
) -> None:
    """Print a 签收单 (receipt slip) for every stop of a plan, for the shelter to sign."""
    from supply.services import printing

    lang = _lang(lang)
    slips = run(db, lambda s: printing.receipt_slips(s, plan))
    _emit(printing.slips_html(slips, lang=lang), out)
