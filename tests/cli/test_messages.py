"""Refusal messages print what the keeper typed, verbatim, whatever characters it holds."""

from pathlib import Path

import pytest

from tests.cli.harness import ITEMS_CSV, Relief, write_csv


@pytest.mark.parametrize("code", ["[/x]", "[red]CNTY"], ids=["closing-tag", "style-tag"])
def test_unknown_depot_message_names_code_verbatim(ledger: Relief, code: str) -> None:
    """An unknown depot code is echoed back exactly as typed, with exit 2."""
    result = ledger("stock", "issue", "--depot", code, "--item", "TENT", "--qty", "1")

    assert result.exit_code == 2
    assert f"unknown depot '{code}'" in result.stderr


def test_bad_file_message_names_path_verbatim(relief: Relief, tmp_path: Path) -> None:
    """A refused CSV is named by its real path even when a folder name is in brackets."""
    folder = tmp_path / "[old]"
    folder.mkdir()
    path = write_csv(folder / "items.csv", ITEMS_CSV.replace("13.8", "heavy"))

    result = relief("catalog", "import", str(path))

    assert result.exit_code == 2
    assert f"{path}:2: unit_weight_kg" in result.stderr


def test_unknown_item_message_names_code(ledger: Relief) -> None:
    """An unknown item code exits 2 with a one-line message naming the code."""
    result = ledger("stock", "issue", "--depot", "CNTY", "--item", "SOAP", "--qty", "1")

    assert result.exit_code == 2
    assert result.stderr.strip() == "error: item: unknown item 'SOAP'"
