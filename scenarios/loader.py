"""Loading a bundled sample (items, depots, movements) into a ledger."""

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from supply.models import DepotCreate, ItemCreate
from supply.services.catalogue import upsert_depots, upsert_items
from supply.services.movements_io import REQUIRED_COLUMNS, MovementRow, import_movements
from supply.sheets import read_rows

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


@dataclass(frozen=True, slots=True)
class Loaded:
    items: int
    depots: int
    documents: int
    movements: int


def load_sample(session: Session, folder: Path = SAMPLE_DIR, *, actor: str = "demo") -> Loaded:
    """Import `items.csv`, `depots.csv` and `movements.csv` from a folder, in that order."""
    items = read_rows(folder / "items.csv", ItemCreate, required=("code",))
    depots = read_rows(folder / "depots.csv", DepotCreate, required=("code", "tier"))
    movements = read_rows(folder / "movements.csv", MovementRow, required=REQUIRED_COLUMNS)
    upsert_items(session, [r for _, r in items])
    upsert_depots(session, [r for _, r in depots])
    result = import_movements(session, movements, actor=actor)
    return Loaded(len(items), len(depots), result.documents, result.movements)
